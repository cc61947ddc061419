"""Prediction events: what an EKS-served model publishes to Kafka for every prediction.

The schema is versioned in this package (``prediction_event.v<N>.schema.json``; a change that is
not additive is a new version, and the ``schema`` field names it). An event is a SageMaker
data-capture line plus the model's identity, one predicted row per event, so the sink's files in
the capture bucket are read by the drift job (``lifecycle/drift/capture.py``) like endpoint
capture. Events are keyed by model name: one model's events stay ordered in one partition of its
team's topic.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_VERSION = 1
SCHEMA_ID = f"mlplat.prediction-event/{SCHEMA_VERSION}"
SCHEMA_PATH = Path(__file__).with_name(f"prediction_event.v{SCHEMA_VERSION}.schema.json")
CONTENT_TYPE = "application/json"


class EventError(ValueError):
    """An event that does not match the schema; the message names the field."""


@cache
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def topic_name(environment: str, team: str) -> str:
    """One topic per team (infra/declarations/streaming.py says why); Kafka allows
    [a-zA-Z0-9._-] up to 249 characters."""
    return f"mlplat.{environment}.predictions.{team}"


def prediction_event(
    *,
    model: str,
    version: int,
    inference_id: str,
    features: dict[str, Any],
    output: Any,
    time: datetime | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """One row's prediction as an event (validated)."""
    when = (time or datetime.now(UTC)).astimezone(UTC)
    event = {
        "schema": SCHEMA_ID,
        "model": model,
        "modelVersion": version,
        "captureData": {
            "endpointInput": _payload("INPUT", features),
            "endpointOutput": _payload("OUTPUT", output),
        },
        "eventMetadata": {
            "eventId": event_id or str(uuid.uuid4()),
            "inferenceId": inference_id,
            "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        },
        "eventVersion": "0",
    }
    validate(event)
    return event


def _payload(mode: str, value: Any) -> dict[str, str]:
    return {
        "observedContentType": CONTENT_TYPE,
        "mode": mode,
        "data": json.dumps(value, sort_keys=True, separators=(",", ":")),
        "encoding": "JSON",
    }


def validate(event: Any) -> None:
    """Raise EventError naming the first field at fault (schema, then the features object)."""
    error = next(iter(sorted(validator().iter_errors(event), key=lambda e: list(e.path))), None)
    if error is not None:
        where = ".".join(str(part) for part in error.path) or "(event)"
        raise EventError(f"{where}: {error.message}")
    features = json.loads(event["captureData"]["endpointInput"]["data"])
    if not isinstance(features, dict) or not features:
        raise EventError("captureData.endpointInput.data: must be a JSON object of features")


def encode(event: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) of the Kafka record: the model's name, the event as one JSON line."""
    validate(event)
    value = json.dumps(event, sort_keys=True, separators=(",", ":"))
    return event["model"].encode(), value.encode()
