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


def _priced_checks(graph):
    result = estimate(graph, load_snapshot(), EstimateOptions(as_of=dt.date(2026, 11, 28)))
    return result, {check.budget.subject: check for check in check_budgets(graph, result)}


def test_a_team_budget_counts_only_its_own_environments_costs():
    graph = Graph.from_export(
        export(
            *multi_model_endpoint("cpu-mme", "ml.m5.xlarge", MODELS, min_capacity=2),
            *multi_model_endpoint("big", "ml.m5.xlarge", MODELS, initial=3, stack="staging"),
            budget("risk-budget", "200", team="risk"),
        )
    )
    result, found = _priced_checks(graph)
    assert {item.environment for item in result.items} == {"dev", "staging"}
    assert found["risk"].estimate.monthly == pytest.approx(251.85)  # dev's 75% alone


def test_an_environment_budget_with_no_costs_is_within_at_zero():
    cap = budget("staging-cap", "10")
    cap["inputs"]["costFilters"] = [
        {"name": "TagKeyValue", "values": ["user:mlplat:environment$staging"]}
    ]
    (check,) = _priced_checks(Graph.from_export(export(cap)))[1].values()
    assert (check.estimate.monthly, check.estimate.max_monthly) == (0, 0)
    assert check.status is Status.WITHIN


def test_a_budget_takes_its_environment_from_its_tag_else_from_its_stack():
    tagged = budget("tagged", "10", team="risk")
    tagged["inputs"]["tags"]["mlplat:environment"] = "staging"
    untagged = budget("untagged", "10", team="growth")
    del untagged["inputs"]["tags"]
    found = {
        b.subject: b.environment for b in budgets_in(Graph.from_export(export(tagged, untagged)))
    }
    assert found == {"risk": "staging", "growth": "dev"}


def test_a_budget_that_omits_its_type_or_period_is_a_monthly_cost_budget():
    bare = budget("bare", "120", team="risk")
    del bare["inputs"]["budgetType"], bare["inputs"]["timeUnit"]
    (found,) = budgets_in(Graph.from_export(export(bare)))
    assert (found.scope, found.subject, found.monthly_limit) == (Scope.TEAM, "risk", 120.0)


def test_a_budget_without_a_fixed_limit_is_left_out():
    planned = budget("planned", "0", team="risk")  # e.g. plannedLimits, auto-adjusting
    del planned["inputs"]["limitAmount"]
    assert budgets_in(Graph.from_export(export(planned))) == []


def test_only_a_component_naming_a_model_and_a_budget_declares_a_model_budget():
    def component(name, outputs):
        return resource("mlplat:serving:HostedModel", name, outputs=outputs, custom=False)

    graph = Graph.from_export(
        export(
            component("declared", {"model": "churn", "team": "growth", "monthlyBudgetUsd": 50}),
            component("no-budget", {"model": "fraud", "team": "risk"}),
            component("no-model", {"team": "risk", "monthlyBudgetUsd": 70}),
        )
    )
    assert [(b.scope, b.subject, b.monthly_limit) for b in budgets_in(graph)] == [
        (Scope.MODEL, "churn", 50.0)
    ]
