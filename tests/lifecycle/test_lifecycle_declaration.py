"""Declaring monitoring and retraining: the one-line common case, and every bad combination as a
declaration error naming model, file and field (both sides of each rule)."""

from __future__ import annotations

import pytest

from infra.declarations import SpecError
from infra.declarations.lifecycle import schedule_problem
from infra.loader import parse_environment
from tests.foundation import test_mistakes
from tests.foundation.conftest import config_data, model_data, team_data
from tests.foundation.test_mistakes import MODEL, fails

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlplat-lifecycle:1"
RETRAIN = {"data": "s3://example-data/fraud/train/", "metric": "auc", "minimum": 0.9}


# The team may read the test data (tests/foundation/test_team_data.py tests that rule).
TEAM = team_data(data={"read": ("s3://example-data/",)})


def problems(stack: str = "dev", image: str | None = IMAGE, **model) -> dict[str, str]:
    config = config_data(**({"mlplat:lifecycle": {"image": image}} if image else {}))
    try:
        parse_environment(stack, teams=[TEAM], models=[model_data(**model)], config=config)
    except SpecError as error:
        return {problem.path: problem.message for problem in error.problems}
    return {}


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "rate(12 hours)",
        "rate(1 day)",
        "rate(7 days)",
        "cron(0 12 * * ? *)",
        "cron(0/15 * ? * MON-FRI *)",
        "cron(0 8 1 JAN,JUL ? 2026-2030)",
        "cron(0 12 L * ? *)",
        "cron(0 12 ? * 6#3 *)",
        "cron(0 12 15W * ? *)",
        "at(2026-12-01T10:00:00)",
    ],
)
def test_expressions_eventbridge_scheduler_accepts(expression):
    assert schedule_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("rate(1 days)", "rate(1 day)"),
        ("rate(2 day)", "write rate(2 days)"),
        ("rate(0 minutes)", "positive"),
        ("rate(1 week)", "not an EventBridge Scheduler expression"),
        ("cron(0 12 * * *)", "six fields"),  # Unix cron: five fields
        ("cron(0 12 * * ? * *)", "not 7"),
        ("cron(60 12 * * ? *)", "minutes '60'"),
        ("cron(0 24 * * ? *)", "hours '24'"),
        ("cron(0 12 32 * ? *)", "day-of-month '32'"),
        ("cron(0 12 ? 13 MON *)", "month '13'"),
        ("cron(0 12 ? * 8 *)", "day-of-week '8'"),
        ("cron(0 12 * * ? 1969)", "year '1969'"),
        ("cron(0 12 * * * *)", "must be '?'"),
        ("cron(0 12 ? * ? *)", "must be '?'"),
        ("cron(0 12 * * W *)", "day-of-week 'W'"),
        ("at(2026-02-30T10:00:00)", "not a date"),
        ("at(2026-12-01 10:00)", "not an EventBridge Scheduler expression"),
        ("daily", "not an EventBridge Scheduler expression"),
    ],
)
def test_expressions_eventbridge_scheduler_refuses(expression, why):
    assert why in schedule_problem(expression)


def test_the_common_case_is_one_line_each():
    assert problems(monitoring={}, retraining=RETRAIN) == {}


def test_a_bad_schedule_is_a_declaration_error_on_its_field():
    found = problems(monitoring={"schedule": "cron(0 12 * * *)"})
    assert "six fields" in found["models[0].monitoring.schedule"]
    found = problems(monitoring={}, retraining={**RETRAIN, "schedule": "rate(1 days)"})
    assert "rate(1 day)" in found["models[0].retraining.schedule"]


def test_drift_triggered_retraining_needs_monitoring():
    assert "needs monitoring" in problems(retraining=RETRAIN)["models[0].retraining.on_drift"]
    scheduled = {**RETRAIN, "on_drift": False, "schedule": "rate(7 days)"}
    assert problems(retraining=scheduled) == {}


def test_retraining_needs_a_trigger():
    found = problems(retraining={**RETRAIN, "on_drift": False})
    assert "no trigger" in found["models[0].retraining.schedule"]


@pytest.mark.parametrize(("wait", "refused"), [(3599, True), (3600, False), (7200, False)])
def test_spot_max_wait_may_not_be_below_max_runtime(wait, refused):
    found = problems(
        monitoring={}, retraining={**RETRAIN, "max_runtime_seconds": 3600, "max_wait_seconds": wait}
    )
    assert ("models[0].retraining.max_wait_seconds" in found) is refused
    if refused:
        assert (
            "3599 is below max_runtime_seconds (3600)"
            in found["models[0].retraining.max_wait_seconds"]
        )


def test_spot_must_checkpoint_and_max_wait_is_spot_only():
    found = problems(monitoring={}, retraining={**RETRAIN, "checkpoints": False})
    assert "must checkpoint" in found["models[0].retraining.checkpoints"]
    assert (
        problems(monitoring={}, retraining={**RETRAIN, "spot": False, "checkpoints": False}) == {}
    )
    found = problems(monitoring={}, retraining={**RETRAIN, "spot": False, "max_wait_seconds": 7200})
    assert "spot training only" in found["models[0].retraining.max_wait_seconds"]


def test_automatic_approval_is_refused_in_prod_only():
    automatic = {**RETRAIN, "approval": "automatic"}
    assert problems("dev", monitoring={}, retraining=automatic) == {}
    found = problems("prod", monitoring={}, retraining=automatic)
    assert "manual approval only" in found["models[0].retraining.approval"]
    assert "models[0].retraining.approval" not in problems(
        "prod", monitoring={}, retraining=RETRAIN
    )


def test_monitoring_needs_capture_a_recurring_schedule_and_the_lifecycle_image():
    found = problems(monitoring={}, data_capture_percent=0)
    assert "data_capture_percent is 0" in found["models[0].monitoring"]
    found = problems(monitoring={"schedule": "at(2026-12-01T10:00:00)"})
    assert "recurring" in found["models[0].monitoring.schedule"]
    found = problems(image=None, monitoring={})
    assert "lifecycle.image" in found["models[0].monitoring"]
    assert (
        "not an ECR image"
        in problems(image="docker.io/x:1", monitoring={})["config.lifecycle.image"]
    )


def test_ks_threshold_is_a_p_value():
    assert "below 1" in problems(monitoring={"threshold": 1.0})["models[0].monitoring.threshold"]
    assert problems(monitoring={"threshold": 0.05}) == {}
    assert problems(monitoring={"method": "psi", "threshold": 1.5}) == {}


def test_a_misspelt_lifecycle_field_is_an_error_not_a_no_op():
    found = problems(monitoring={"shedule": "rate(1 day)"})
    assert "models[0].monitoring.shedule" in found


project = test_mistakes.project  # the fixture: stack files and packages in a temporary folder

LIFECYCLE_MODEL = MODEL.replace(
    "    monthly_budget_usd=200,\n",
    "    monthly_budget_usd=200,\n    retraining=RETRAINING,\n",
)


def test_the_cli_names_model_file_and_field_and_exits_2(project):
    project.model(
        text=LIFECYCLE_MODEL,
        RETRAINING='{"data": "s3://example-data/x/", "metric": "auc", "minimum": 0.8}',
    )
    project.stack()
    text = fails("models", "list", "--stack", "dev")
    assert "model 'upsell-scorer' (" in text
    assert "/model_packages/upsell_scorer/__init__.py:3): retraining.on_drift: " in text
    assert "drift-triggered retraining needs monitoring" in text


def test_monitoring_needs_a_model_whose_requests_are_captured():
    found = problems(monitoring={}, serving="eks", instance_type=None)
    assert "only sagemaker-mme models capture" in found["models[0].monitoring"]
    scheduled = {**RETRAIN, "on_drift": False, "schedule": "rate(7 days)"}
    assert problems(retraining=scheduled, serving="eks", instance_type=None) == {}
