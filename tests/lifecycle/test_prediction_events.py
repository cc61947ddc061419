"""The prediction event schema (versioned in lifecycle/events): what producers build validates,
what is missing or mistyped does not, and the sink's lines read as capture in the drift job."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from lifecycle.drift.capture import parse_record
from lifecycle.events import (
    SCHEMA_ID,
    SCHEMA_PATH,
    EventError,
    encode,
    prediction_event,
    topic_name,
    validate,
)

TIME = datetime(2026, 11, 30, 17, 5, 9, 123000, tzinfo=UTC)


def event(**changes) -> dict:
    return prediction_event(
        model=changes.pop("model", "recs-ranker"),
        version=changes.pop("version", 3),
        inference_id=changes.pop("inference_id", "3f1c0a9e-rank-0001"),
        features=changes.pop("features", {"age_days": 12.0, "clicks": 3, "country": "fr"}),
        output=changes.pop("output", [0.25]),
        time=TIME,
        event_id="evt-1",
    )


def test_a_built_event_carries_model_version_id_time_features_and_output():
    built = event()
    assert built["schema"] == SCHEMA_ID and SCHEMA_PATH.name == "prediction_event.v1.schema.json"
    assert (built["model"], built["modelVersion"]) == ("recs-ranker", 3)
    assert built["eventMetadata"] == {
        "eventId": "evt-1",
        "inferenceId": "3f1c0a9e-rank-0001",
        "inferenceTime": "2026-11-30T17:05:09.123Z",
    }
    assert json.loads(built["captureData"]["endpointInput"]["data"])["clicks"] == 3
    assert json.loads(built["captureData"]["endpointOutput"]["data"]) == [0.25]


def test_the_drift_job_reads_an_event_as_a_capture_line():
    key, value = encode(event())
    record = parse_record(value.decode())
    assert key == b"recs-ranker"
    assert record.inference_id == "3f1c0a9e-rank-0001"
    assert record.inference_time == datetime(2026, 11, 30, 17, 5, 9, 123000, tzinfo=UTC)
    assert record.rows == [{"age_days": 12.0, "clicks": 3, "country": "fr"}]


def _without(path: str) -> dict:
    broken = copy.deepcopy(event())
    *parents, last = path.split(".")
    target = broken
    for part in parents:
        target = target[part]
    del target[last]
    return broken


@pytest.mark.parametrize(
    "path",
    [
        "schema",
        "model",
        "modelVersion",
        "eventVersion",
        "eventMetadata.inferenceId",
        "eventMetadata.inferenceTime",
        "eventMetadata.eventId",
        "captureData.endpointInput",
        "captureData.endpointOutput",
        "captureData.endpointInput.data",
    ],
)
def test_an_event_missing_a_required_field_is_refused(path):
    with pytest.raises(EventError, match="required"):
        validate(_without(path))


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        ("schema", "mlplat.prediction-event/2", "schema"),
        ("model", "Recs_Ranker", "model"),
        ("modelVersion", 0, "modelVersion"),
        ("modelVersion", "3", "modelVersion"),
        ("eventMetadata.inferenceTime", "2026-11-30 17:05:09", "eventMetadata.inferenceTime"),
        ("eventMetadata.inferenceId", "x" * 65, "eventMetadata.inferenceId"),
        ("captureData.endpointInput.mode", "OUTPUT", "captureData.endpointInput.mode"),
        ("captureData.endpointInput.encoding", "CSV", "captureData.endpointInput.encoding"),
        ("extra", 1, "(event)"),
    ],
)
def test_a_mistyped_field_is_refused_naming_it(path, value, where):
    broken = copy.deepcopy(event())
    *parents, last = path.split(".")
    target = broken
    for part in parents:
        target = target[part]
    target[last] = value
    with pytest.raises(EventError) as raised:
        validate(broken)
    assert str(raised.value).startswith(f"{where}:")


def test_features_must_be_an_object_of_named_values():
    with pytest.raises(EventError, match="JSON object of features"):
        event(features=[1.0, 2.0])
    with pytest.raises(EventError, match="JSON object of features"):
        event(features={})


def test_topic_names_are_valid_kafka_names_per_team():
    name = topic_name("staging", "a" * 34)
    assert len(name) <= 249 and set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789._-")
    assert topic_name("prod", "fraud") != topic_name("prod", "growth")
