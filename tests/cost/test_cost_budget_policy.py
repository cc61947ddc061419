"""The `estimated-cost-within-budget` stack rule, run the way `mlplat policy check` runs it."""

from __future__ import annotations

import pytest
from cost_exports import budget, export, model_budget, multi_model_endpoint, spot_group

from cost_model.budgets import Status, check_budgets
from cost_model.estimate import estimate
from cost_model.graph import Graph
from cost_model.prices import load_snapshot
from mlplat.policy_check import check
from policies.registry import policy_named
from policies.rules.cost_estimates import estimated_cost_within_budget

MODELS = [
    {"name": "fraud", "team": "risk", "memoryMb": 3072},
    {"name": "churn", "team": "growth", "memoryMb": 1024},
]


def violations(*budgets, stack="dev", instance_type="ml.m5.xlarge", config=None):
    # $335.80/month at the minimum of 2 instances: risk 75% ($251.85), growth 25% ($83.95).
    endpoint = multi_model_endpoint(
        "cpu-mme", instance_type, MODELS, min_capacity=2, max_capacity=4, stack=stack
    )
    document = export(*endpoint, *budgets, stack=stack)
    return check(document, policies=[estimated_cost_within_budget], config=config)


def test_registered_in_the_pack():
    assert policy_named("estimated-cost-within-budget") is estimated_cost_within_budget


def test_budgets_that_cover_the_estimate_pass():
    # growth's maximum ($167.90) exceeds $100, but only the minimum must fit.
    assert (
        violations(budget("risk", "260", team="risk"), budget("growth", "100", team="growth")) == []
    )


def test_team_over_budget_is_reported_on_its_budget():
    (found,) = violations(
        budget("risk", "200", team="risk"), budget("growth", "100", team="growth")
    )
    assert found.policy == "estimated-cost-within-budget"
    assert found.urn.endswith("::risk")
    assert "team 'risk' is estimated at 251.85 USD/month" in found.message
    assert found.enforcement == "advisory"  # mandatory only in prod


def test_environment_over_its_cap_is_mandatory_in_prod():
    (found,) = violations(budget("cap", "300", stack="prod"), stack="prod")
    assert "environment 'prod' is estimated at 335.80 USD/month" in found.message
    assert found.enforcement == "mandatory"


def test_unpriceable_stack_is_reported_rather_than_passed():
    (found,) = violations(budget("cap", "300"), instance_type="ml.x99.huge")
    assert "cannot be checked" in found.message and "'ml.x99.huge'" in found.message


def test_no_budgets_no_opinion():
    assert violations() == []


def test_spot_discount_is_configurable():
    """Two spot nodes priced at $0.096/h on demand: $56.06/month at the default 60% discount,
    $42.05 at 70%, so a $50 environment budget holds only under the configured discount."""
    document = export(spot_group(), budget("cap", "50"))
    rule = [estimated_cost_within_budget]
    (found,) = check(document, policies=rule)
    assert "environment 'dev' is estimated at 56.06 USD/month" in found.message
    config = {"estimated-cost-within-budget": {"spotDiscount": 0.7}}
    assert check(document, policies=rule, config=config) == []


def test_a_model_over_its_declared_budget_is_reported_on_its_component():
    """fraud's share of the endpoint is $251.85 at the minimum; its declaration says $200."""
    (found,) = violations(model_budget("fraud", "risk", 200), model_budget("churn", "growth", 90))
    assert found.urn.endswith("::mlplat-dev-fraud")
    assert "model 'fraud' is estimated at 251.85 USD/month" in found.message
    assert "budget of 200.00 USD/month" in found.message
    assert found.enforcement == "advisory"


def test_a_model_over_its_budget_is_mandatory_in_prod_even_without_aws_budgets():
    (found,) = violations(model_budget("churn", "growth", 50, stack="prod"), stack="prod")
    assert "model 'churn' is estimated at 83.95 USD/month" in found.message
    assert found.enforcement == "mandatory"


def test_a_model_within_its_budget_at_the_minimum_passes_and_is_shown_at_risk():
    # churn: $83.95 at the minimum of 2 instances, $167.90 at 4: at risk, not over.
    budgets = model_budget("churn", "growth", 100), model_budget("fraud", "risk", 600)
    assert violations(*budgets) == []
    endpoint = multi_model_endpoint(
        "cpu-mme", "ml.m5.xlarge", MODELS, min_capacity=2, max_capacity=4
    )
    graph = Graph.from_export(export(*endpoint, *budgets))
    checks = check_budgets(graph, estimate(graph, load_snapshot()))
    assert {c.budget.subject: c.status for c in checks} == {
        "churn": Status.AT_RISK,
        "fraud": Status.WITHIN,
    }


@pytest.mark.slow
def test_a_declared_model_budget_below_its_estimate_fails_prod(preview_with_models):
    """The shipped prod stack with one model's budget lowered below its share of its endpoint:
    the policy check a deployment runs stops it; every other model stays within."""

    def lower_budget(models):
        return [
            m.base.override(**{**m.changes, "monthly_budget_usd": 1})
            if m.base.name == "churn-predictor"
            else m
            for m in models
        ]

    document = preview_with_models("prod", lower_budget)
    found = check(document, policies=[estimated_cost_within_budget])
    assert [v.urn.rsplit("::", 1)[-1] for v in found] == ["mlplat-prod-churn-predictor"]
    assert "model 'churn-predictor' is estimated at" in found[0].message
    assert "budget of 1.00 USD/month" in found[0].message
    assert found[0].enforcement == "mandatory"
