"""What each model is held to: the objectives its declaration states (``objectives=``,
``infra.declarations.objectives``), each missing one taken from ``PLATFORM_DEFAULTS``.

``objectives_for`` is the only function that decides a model's objectives.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from infra.declarations import ModelDeclaration


@dataclass(frozen=True)
class Objectives:
    latency_p99_seconds: float = 0.5  # on a bucket boundary of metrics.LATENCY_BUCKETS
    latency_for: str = "10m"  # how long p99 must stay over before the alert fires
    error_ratio: float = 0.01  # 5xx responses / responses
    error_for: str = "10m"
    # Below this request rate the error ratio is noise (2 errors in 3 requests is 67%): no alert.
    min_requests_per_second: float = 0.2
    expects_traffic: bool = True  # a running model that receives no request for no_traffic_for
    no_traffic_for: str = "30m"
    restarts_in_15m: int = 2  # more container restarts than this in 15 minutes
    hpa_at_max_for: str = "15m"
    gpu_util_percent: float = 90.0
    gpu_memory_ratio: float = 0.95
    gpu_saturated_for: str = "15m"


PLATFORM_DEFAULTS = Objectives()


def objectives_for(model: ModelDeclaration) -> Objectives:
    """The model's declared objectives over the platform defaults, field by field."""
    declared = model.objectives.model_dump(exclude_none=True)
    return replace(PLATFORM_DEFAULTS, **declared) if declared else PLATFORM_DEFAULTS
