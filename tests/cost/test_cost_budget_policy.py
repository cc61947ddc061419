"""The `estimated-cost-within-budget` stack rule, run the way `mlplat policy check` runs it."""

from __future__ import annotations

from cost_exports import budget, export, multi_model_endpoint

from infra.policy_check import check
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
    config = {"estimated-cost-within-budget": {"spotDiscount": 0.7}}
    assert violations(budget("risk", "260", team="risk"), config=config) == []
