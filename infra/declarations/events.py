"""A model's prediction events (issue 18): ``events=PredictionEvents(monthly_events=...)``.

Opt-in per model, where the environment has Kafka (``streaming.enabled``; elsewhere, dev by
default, the model serves without it): an EKS-served model that declares it gets the events
gateway in its pods
(``lifecycle/events/gateway``: a sidecar that owns the Service port, forwards each request to the
model server unchanged and publishes one event per predicted row to the team's topic), and its
role may write to that topic. Nothing else is created per model: the topic, its sink and the
cluster are the platform's, per team (``components/streaming.py``).

``monthly_events`` and ``event_bytes`` are what ``mlplat cost`` prices the Firehose sink on
(``cost_model/events.py``): the graph cannot know how many predictions a model will make.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from infra.declarations.errors import Problem
from infra.declarations.model import Declaration

# An event of 20 named features (10-character names, 12-digit values) and one score, from a model
# with the longest name and an inference id of 64 characters, is 1,120 bytes as published (the
# features are a JSON string inside the event, so their quotes are escaped); the default leaves
# room for more: tests/foundation/test_events_declaration.py measures it.
DEFAULT_EVENT_BYTES = 1536
# Kafka's default largest record (message.max.bytes, 1 MB): a larger event is refused by MSK.
MAX_EVENT_BYTES = 1_000_000


class PredictionEvents(Declaration):
    monthly_events: int = Field(
        ge=1, description="Expected predicted rows a month (one event each): priced by mlplat cost."
    )
    event_bytes: int = Field(
        default=DEFAULT_EVENT_BYTES,
        ge=100,
        le=MAX_EVENT_BYTES,
        description="Average size of one event as published (JSON): priced by mlplat cost.",
    )


def events_problems(model, path: str, settings=None) -> Iterator[Problem]:
    """Rules across ``events``, the model and its environment (``settings``, when they parsed)."""
    if model.events is None:
        return
    where = f"{path}.events"
    if model.serving != "eks":
        yield Problem(
            where,
            "prediction events are published by the EKS events gateway; a sagemaker-mme model's "
            "requests are captured by the endpoint (data_capture_percent)",
        )
    if settings is None:
        return
    if settings.streaming.enabled and settings.streaming.gateway_image is None:
        yield Problem(
            where,
            "needs the events gateway image (config streaming.gatewayImage in Pulumi.<env>.yaml):"
            " build lifecycle/events/gateway/Dockerfile and push it",
        )
