"""What the lifecycle rules say, in full (infra/declarations/lifecycle.py): each refusal's path
and whole message, where the missing image is reported, and both sides of each bound."""

from __future__ import annotations

import pytest

from infra import catalog
from infra.declarations.lifecycle import Retraining
from tests.lifecycle.test_lifecycle_declaration import IMAGE, RETRAIN, problems

SCHEDULED = {**RETRAIN, "on_drift": False, "schedule": "rate(7 days)"}
NEEDS_IMAGE = (
    "needs the lifecycle image (config lifecycle.image in Pulumi.<env>.yaml): the drift job "
    "and evaluation run in it"
)


@pytest.mark.parametrize(
    ("declared", "path"),
    [
        ({"monitoring": {}}, "models[0].monitoring"),
        ({"monitoring": {}, "retraining": RETRAIN}, "models[0].monitoring"),
        ({"retraining": SCHEDULED}, "models[0].retraining"),
    ],
)
def test_the_missing_lifecycle_image_is_named_at_what_needs_it(declared, path):
    assert problems(image=None, **declared) == {path: NEEDS_IMAGE}


def test_a_model_without_lifecycle_needs_no_image_and_a_bad_image_is_named_at_its_key():
    assert problems(image=None) == {}
    assert problems(image="docker.io/x:1", monitoring={}) == {
        "config.lifecycle.image": "'docker.io/x:1' is not an ECR image URI"
    }


def test_monitoring_an_eks_model_says_where_drift_comes_from():
    found = problems(monitoring={}, serving="eks", instance_type=None)
    assert found == {
        "models[0].monitoring": "drift is computed from SageMaker data capture: only "
        "sagemaker-mme models capture their requests"
    }


@pytest.mark.parametrize(("percent", "refused"), [(0, True), (1, False)])
def test_monitoring_needs_some_captured_requests(percent, refused):
    found = problems(monitoring={}, data_capture_percent=percent)
    message = "needs captured requests: data_capture_percent is 0"
    assert found == ({"models[0].monitoring": message} if refused else {})


def test_drift_is_watched_on_a_recurring_schedule():
    found = problems(monitoring={"schedule": "at(2026-12-01T10:00:00)"})
    assert found == {
        "models[0].monitoring.schedule": "drift is watched on a recurring schedule: use "
        "rate(...) or cron(...)"
    }


@pytest.mark.parametrize(
    ("monitoring", "refused"),
    [
        ({"threshold": 1.0}, True),
        ({"threshold": 0.999}, False),
        ({"method": "psi", "threshold": 1.0}, False),
        ({"method": "psi", "threshold": 1.5}, False),
    ],
)
def test_a_ks_threshold_is_a_p_value_below_1(monitoring, refused):
    message = "a KS threshold is a p-value: below 1"
    found = problems(monitoring=monitoring)
    assert found == ({"models[0].monitoring.threshold": message} if refused else {})


def test_retraining_triggers_are_named_in_full():
    assert problems(retraining=RETRAIN) == {
        "models[0].retraining.on_drift": "drift-triggered retraining needs monitoring: declare "
        "monitoring=Monitoring(), or set on_drift=False and a schedule"
    }
    assert problems(retraining={**RETRAIN, "on_drift": False}) == {
        "models[0].retraining.schedule": "no trigger: set on_drift=True or a schedule"
    }
    # both triggers: monitoring and a schedule
    assert problems(monitoring={}, retraining={**RETRAIN, "schedule": "rate(7 days)"}) == {}


def test_spot_training_messages_in_full():
    found = problems(
        monitoring={}, retraining={**RETRAIN, "max_runtime_seconds": 3600, "max_wait_seconds": 3599}
    )
    assert found == {
        "models[0].retraining.max_wait_seconds": "3599 is below max_runtime_seconds (3600): "
        "SageMaker requires MaxWaitTimeInSeconds >= MaxRuntimeInSeconds for spot"
    }
    assert problems(monitoring={}, retraining={**RETRAIN, "checkpoints": False}) == {
        "models[0].retraining.checkpoints": "spot training must checkpoint: an interruption "
        "would restart from zero"
    }
    on_demand = {**RETRAIN, "spot": False, "max_wait_seconds": 7200}
    assert problems(monitoring={}, retraining=on_demand) == {
        "models[0].retraining.max_wait_seconds": "applies to spot training only (spot=False here)"
    }


@pytest.mark.parametrize(
    ("changes", "wait"),
    [({}, 7200), ({"max_wait_seconds": 5000}, 5000), ({"spot": False}, None)],
)
def test_spot_waits_twice_the_runtime_unless_told(changes, wait):
    retraining = Retraining.model_validate({**RETRAIN, "max_runtime_seconds": 3600, **changes})
    assert retraining.effective_max_wait_seconds == wait


def test_a_training_image_outside_ecr_is_refused_and_an_ecr_one_accepted():
    assert problems(monitoring={}, retraining={**RETRAIN, "image": "docker.io/x:1"}) == {
        "models[0].retraining.image": "'docker.io/x:1' is not an ECR image URI"
    }
    assert problems(monitoring={}, retraining={**RETRAIN, "image": IMAGE}) == {}


def test_a_framework_without_a_training_image_for_the_type_asks_for_one():
    """sklearn has no GPU training image: the default cannot be found, so the image is asked
    for; with one given, nothing is looked up."""
    gpu = {**RETRAIN, "instance_type": "ml.g5.xlarge"}
    with pytest.raises(catalog.UnknownImage) as caught:
        catalog.training_image("sklearn", "1.2-1", "us-east-1", "ml.g5.xlarge")
    assert problems(monitoring={}, retraining=gpu) == {
        "models[0].retraining.image": f"no sklearn 1.2-1 training image to default to "
        f"({caught.value}): set image"
    }
    assert problems(monitoring={}, retraining={**gpu, "image": IMAGE}) == {}


def test_prod_registers_versions_for_manual_approval_only():
    automatic = {**RETRAIN, "approval": "automatic"}
    assert problems("prod", monitoring={}, retraining=automatic).get(
        "models[0].retraining.approval"
    ) == ("prod registers new versions for manual approval only: set approval='manual'")
