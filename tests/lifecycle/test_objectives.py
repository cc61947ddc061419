"""Objectives as optional declaration fields: declared ones reach the alert rules, missing ones
take the platform defaults, and a bad one is a clear error naming model, file and field."""

from __future__ import annotations

import pytest

from infra.declarations.objectives import LATENCY_BUCKETS
from lifecycle.monitoring.objectives import PLATFORM_DEFAULTS, objectives_for
from lifecycle.monitoring.prometheus_rules import alert_groups, alerting_rules
from lifecycle.monitoring.synthetic import eks_model
from tests.foundation.test_mistakes import MODEL, fails, project  # noqa: F401 (fixture)


def test_undeclared_objectives_are_the_platform_defaults():
    assert objectives_for(eks_model("ranker")) == PLATFORM_DEFAULTS


def test_a_declared_objective_replaces_only_its_default():
    model = eks_model("ranker").__class__(
        **{**eks_model("ranker").as_input(), "objectives": {"latency_p99_seconds": 0.25}}
    )
    held_to = objectives_for(model)
    assert held_to.latency_p99_seconds == 0.25
    assert held_to.error_ratio == PLATFORM_DEFAULTS.error_ratio


def test_a_model_with_its_own_objectives_gets_its_own_rules():
    strict = eks_model("strict").__class__(
        **{**eks_model("strict").as_input(), "objectives": {"error_ratio": 0.001}}
    )
    groups = alert_groups([eks_model("relaxed"), strict])
    assert len(groups) == 2
    (own,) = [g for g in groups if g.models == (strict,)]
    (errors,) = [r for r in alerting_rules(own) if r["alert"] == "ModelErrorRatioOverObjective"]
    assert "> 0.001)" in errors["expr"]


@pytest.mark.parametrize("latency", [LATENCY_BUCKETS[0], LATENCY_BUCKETS[-1]])
def test_bucket_boundaries_are_accepted(latency):
    model = eks_model("ranker").__class__(
        **{**eks_model("ranker").as_input(), "objectives": {"latency_p99_seconds": latency}}
    )
    assert objectives_for(model).latency_p99_seconds == latency


def test_an_objective_between_buckets_names_model_file_and_field(project):  # noqa: F811
    project.model(
        text=MODEL.replace(
            "monthly_budget_usd=200,",
            'monthly_budget_usd=200,\n    objectives={"latency_p99_seconds": 0.3},',
        )
    )
    project.stack()
    text = fails("models", "list", "--stack", "dev")
    assert "model 'upsell-scorer' (" in text
    assert "upsell_scorer/__init__.py:3): objectives.latency_p99_seconds" in text
    assert "not a bucket boundary" in text


def test_an_error_ratio_of_one_is_refused(project):  # noqa: F811
    project.model(
        text=MODEL.replace(
            "monthly_budget_usd=200,", 'monthly_budget_usd=200,\n    objectives={"error_ratio": 1},'
        )
    )
    project.stack()
    assert "objectives.error_ratio" in fails("models", "list", "--stack", "dev")
