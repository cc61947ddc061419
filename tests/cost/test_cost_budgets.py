"""Budgets meet estimates: team and environment budgets against the estimate."""

from __future__ import annotations

import datetime as dt

import pytest
from cost_exports import budget, export, multi_model_endpoint, resource

from cost_model.budgets import Scope, Status, budgets_in, check_budgets
from cost_model.estimate import EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import load_snapshot

MODELS = [
    {"name": "fraud", "team": "risk", "memoryMb": 3072},
    {"name": "churn", "team": "growth", "memoryMb": 1024},
]


def checks(*budgets):
    # One shared endpoint: $335.80/month at 2 instances, $671.60 at 4; 75% risk, 25% growth.
    graph = Graph.from_export(
        export(
            *multi_model_endpoint(
                "cpu-mme", "ml.m5.xlarge", MODELS, min_capacity=2, max_capacity=4
            ),
            *budgets,
        )
    )
    result = estimate(graph, load_snapshot(), EstimateOptions(as_of=dt.date(2026, 11, 28)))
    return {check.budget.subject: check for check in check_budgets(graph, result)}


def test_team_over_budget_at_its_share_of_the_minimum():
    found = checks(budget("risk-budget", "200", team="risk"))
    # risk's share: 75% × $335.80 = $251.85 > $200.
    assert found["risk"].status is Status.OVER
    assert found["risk"].estimate.monthly == pytest.approx(251.85)
    assert "team 'risk' is estimated at 251.85 USD/month" in found["risk"].message()


def test_team_at_risk_only_at_maximum_scale():
    # growth: 25% × $335.80 = $83.95 at the minimum, 25% × $671.60 = $167.90 at the maximum.
    found = checks(budget("growth-budget", "100", team="growth"))
    assert found["growth"].status is Status.AT_RISK


def test_environment_budget_against_the_whole_stack():
    tight = checks(budget("tight", "300"))["dev"]
    assert tight.budget.scope is Scope.ENVIRONMENT
    assert tight.estimate.monthly == pytest.approx(335.80)
    assert tight.status is Status.OVER
    assert checks(budget("roomy", "1000"))["dev"].status is Status.WITHIN


def test_a_team_without_costs_is_within_budget():
    assert checks(budget("idle-budget", "10", team="idle"))["idle"].estimate.monthly == 0


def test_period_conversion_and_uncomparable_budgets_left_out():
    quarterly = budget("q", "900", team="risk")
    quarterly["inputs"]["timeUnit"] = "QUARTERLY"
    by_service = budget("svc", "50")
    by_service["inputs"]["costFilters"] = [{"name": "Service", "values": ["Amazon SageMaker"]}]
    usage = budget("usage", "50")
    usage["inputs"]["budgetType"] = "USAGE"
    budgets = budgets_in(Graph.from_export(export(quarterly, by_service, usage)))
    assert [(b.subject, b.monthly_limit) for b in budgets] == [("risk", 300.0)]


def test_budget_environment_from_filter():
    scoped = budget("prod-cap", "500")
    scoped["inputs"]["costFilters"] = [
        {"name": "TagKeyValue", "values": ["user:mlplat:environment$prod"]}
    ]
    (found,) = budgets_in(Graph.from_export(export(scoped, resource("aws:kms/key:Key", "k"))))
    assert (found.scope, found.subject) == (Scope.ENVIRONMENT, "prod")
