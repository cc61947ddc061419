"""A model's service objectives, as its declaration may state them (issue 17).

Both optional: a field left out takes the platform default (``lifecycle.monitoring.objectives``).
The p99 latency objective must be a bucket boundary of the serving latency histogram: between
two boundaries ``histogram_quantile`` only interpolates, so an objective of 0.3 s inside the
0.25-0.5 s bucket would alert on a guess.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The histogram's bucket upper bounds, in seconds (the metrics sidecar declares exactly these).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceObjectives(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_p99_seconds: float | None = Field(
        default=None,
        description="p99 request latency over this (seconds, a histogram bucket boundary) "
        "for the alert's duration pages the team; default: the platform's (0.5 s).",
    )
    error_ratio: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="Share of 5xx responses over this pages the team; default: the platform's "
        "(0.01).",
    )

    @field_validator("latency_p99_seconds")
    @classmethod
    def _on_a_bucket(cls, value: float | None) -> float | None:
        if value is not None and value not in LATENCY_BUCKETS:
            bounds = ", ".join(f"{b:g}" for b in LATENCY_BUCKETS)
            raise ValueError(
                f"{value:g} s is not a bucket boundary of the latency histogram ({bounds})"
            )
        return value
