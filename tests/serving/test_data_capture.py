"""Data capture follows the hosted models' declarations when endpoints are opened: off where every
model opts out, never a 0% model sampled at 1%, and the rate SageMaker receives always within its
1..100 range. (Afterwards an endpoint keeps the rate it opened with: test_placement.py.)"""

from __future__ import annotations

import pytest

from infra.declarations import ModelDeclaration
from infra.declarations.model import ModelOverride

ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
# The test's own fixture: these example models (whatever else dev declares is left out), with
# rates chosen so that dev's placement holds an opted-out, a 1% and a 37% endpoint.
RATES = {"fraud-scorer": 0, "chargeback-risk": 0, "churn-predictor": 1, "product-embedder": 37}


def _name(model: ModelDeclaration | ModelOverride) -> str:
    return (model.base if isinstance(model, ModelOverride) else model).name


def _with_capture(model: ModelDeclaration | ModelOverride):
    base = model.base if isinstance(model, ModelOverride) else model
    changes = dict(model.changes) if isinstance(model, ModelOverride) else {}
    changes["data_capture_percent"] = RATES[base.name]
    if RATES[base.name] == 0:  # a model without capture cannot be monitored for drift
        changes |= {"monitoring": None, "retraining": None}
    return ModelOverride(base=base, changes=changes)


@pytest.mark.slow
def test_capture_is_on_exactly_for_endpoints_with_a_sampled_model(preview_with_models, monkeypatch):
    import components.serving.placement as placement

    # Endpoints opened afresh (no lock), so each takes its models' rates.
    monkeypatch.setattr(placement, "read_placement_lock", lambda stack: placement.PlacementLock())
    document = preview_with_models(
        "dev", lambda models: [_with_capture(m) for m in models if _name(m) in RATES]
    )
    resources = document["deployment"]["resources"]
    configs = [r for r in resources if r["type"] == ENDPOINT_CONFIG]
    # Which models each endpoint hosts, from the endpoint component's registered outputs.
    hosted = {
        r["urn"]: {m["name"] for m in r["outputs"]["models"]}
        for r in resources
        if r["type"] == "mlplat:serving:MultiModelEndpoint"
    }
    seen = set()
    for config in configs:
        models = hosted[config["parent"]]
        capture = config["inputs"]["dataCaptureConfig"]
        expected = max(RATES[name] for name in models)
        assert capture["enableCapture"] is (expected > 0), models
        if expected:
            assert capture["initialSamplingPercentage"] == expected, models
        assert 1 <= capture["initialSamplingPercentage"] <= 100  # SageMaker's range, even if off
        seen.add(expected)
    assert seen == {0, 1, 37}, "the stack must host an opted-out, a 1% and a 37% endpoint"
