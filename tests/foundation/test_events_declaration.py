"""A model's prediction events (infra/declarations/events.py): valid declarations parse; every
bad one is a problem at its path, naming the model and its file; where the environment has no
Kafka a declaring model serves without the gateway."""

from __future__ import annotations

import json

import pytest

from infra.declarations import ModelDeclaration, SpecError
from infra.declarations.events import DEFAULT_EVENT_BYTES, PredictionEvents
from infra.loader import parse_environment
from lifecycle.events import encode, prediction_event
from tests.foundation.conftest import config_data, model_data, team_data

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlplat-events-gateway:1"
EKS = {"serving": "eks", "instance_type": None, "resources": {"memory_mb": 512, "cpu": "1"}}


def kafka(**settings) -> dict:
    return config_data(
        **{"mlplat:streaming": {"enabled": True, "brokers": 2, "replicationFactor": 2, **settings}}
    )


def problems(model: dict, config: dict) -> dict[str, str]:
    try:
        parse_environment("dev", teams=[team_data()], models=[model], config=config)
    except SpecError as error:
        return {problem.path: problem.message for problem in error.problems}
    return {}


def test_an_eks_model_declaring_events_parses_where_kafka_and_the_image_are():
    events = {"monthly_events": 1_000_000}
    assert problems(model_data(**EKS, events=events), kafka(gatewayImage=IMAGE)) == {}


def test_without_kafka_a_declaring_model_is_accepted_and_serves_without_the_gateway():
    spec = parse_environment(
        "dev",
        teams=[team_data()],
        models=[model_data(**EKS, events={"monthly_events": 10})],
        config=config_data(),
    )
    assert spec.models[0].events and not spec.settings.streaming.enabled


@pytest.mark.parametrize(
    ("model", "config", "path", "why"),
    [
        (
            model_data(events={"monthly_events": 10}),
            kafka(gatewayImage=IMAGE),
            "models[0].events",
            "sagemaker-mme model's requests are captured by the endpoint",
        ),
        (
            model_data(**EKS, events={"monthly_events": 10}),
            kafka(),
            "models[0].events",
            "config streaming.gatewayImage",
        ),
        (model_data(**EKS, events={"monthly_events": 0}), kafka(), "models[0]", "monthly_events"),
        (
            model_data(**EKS, events={"monthly_events": 1, "event_bytes": 2_000_000}),
            kafka(gatewayImage=IMAGE),
            "models[0]",
            "event_bytes",
        ),
        (
            model_data(**EKS, events={"monthly_events": 1, "topic": "mine"}),
            kafka(gatewayImage=IMAGE),
            "models[0]",
            "topic",
        ),
        (
            model_data(**EKS),
            kafka(gatewayImage="not an image"),
            "config.streaming.gatewayImage",
            "",
        ),
    ],
)
def test_bad_events_declarations_are_problems_at_their_path(model, config, path, why):
    found = problems(model, config)
    matching = {p: m for p, m in found.items() if p.startswith(path)}
    assert matching, found
    assert any(why in p or why in m for p, m in matching.items()), found


def test_a_bad_events_declaration_names_the_model_and_its_file():
    with pytest.raises(SpecError) as raised:
        parse_environment(
            "dev",
            teams=[team_data()],
            models=[ModelDeclaration(**model_data(events=PredictionEvents(monthly_events=5)))],
            config=kafka(gatewayImage=IMAGE),
        )
    text = str(raised.value)
    assert "model 'fraud-scorer' (tests/foundation/test_events_declaration.py:" in text
    assert "events: prediction events are published by the EKS events gateway" in text


def test_the_default_event_size_covers_an_event_of_twenty_features():
    """What mlplat cost assumes when a model does not say: an event as the gateway publishes it,
    20 numeric features and one score, fits in the default."""
    features = {f"feature_{i:02d}": 12345.678901 + i for i in range(20)}
    event = prediction_event(
        model="a" * 48, version=123, inference_id="x" * 64, features=features, output=0.987654321
    )
    _key, value = encode(event)
    assert len(value) <= DEFAULT_EVENT_BYTES, len(value)
    assert json.loads(value)["model"] == "a" * 48


def test_a_publishing_model_without_the_gateway_image_is_told_how_to_provide_it():
    found = problems(model_data(**EKS, events={"monthly_events": 10}), kafka())
    assert found["models[0].events"] == (
        "needs the events gateway image (config streaming.gatewayImage in Pulumi.<env>.yaml): "
        "build lifecycle/events/gateway/Dockerfile and push it"
    )
