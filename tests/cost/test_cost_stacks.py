"""The shipped stacks price cleanly: every instance type they use is in the snapshot, and every
model's cost is attributed to it and its team."""

from __future__ import annotations

import datetime as dt

import pytest

from cost_model.budgets import NOTHING, Scope, Status, check_budgets
from cost_model.estimate import SHARED, EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import load_snapshot
from infra.loader import load_environment, read_stack_config


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_shipped_stack_is_fully_priced_and_attributed(stack_export, stack):
    document = stack_export(stack)
    graph = Graph.from_export(document)
    result = estimate(graph, load_snapshot(), EstimateOptions(as_of=dt.date(2026, 11, 28)))
    assert result.total.monthly > 0
    # Allocation neither loses nor invents money.
    for dimension in ("team", "model", "environment"):
        totals = result.totals_by(dimension)
        assert sum(a.monthly for a in totals.values()) == pytest.approx(result.total.monthly)
    assert set(result.totals_by("environment")) == {stack}
    # Every model the serving components declare carries part of the cost.
    served = {
        model["name"]
        for r in graph.of_type("mlplat:serving:MultiModelEndpoint")
        for model in r.outputs.get("models", [])
    }
    assert served and served <= set(result.totals_by("model")) - {SHARED}
    # The budgets the stack declares are all comparable with the estimate: its AWS Budgets,
    # and the budget every model declares, each checked against that model's estimate.
    checks = check_budgets(graph, result)
    aws_budgets = {r.urn for r in graph.of_type("aws:budgets/budget:Budget")}
    assert aws_budgets <= {check.budget.urn for check in checks}
    by_model = {c.budget.subject: c for c in checks if c.budget.scope is Scope.MODEL}
    spec = load_environment(stack, read_stack_config(stack))
    assert set(by_model) == {model.name for model in spec.models}
    for model in spec.models:
        check = by_model[model.name]
        assert check.budget.monthly_limit == float(model.monthly_budget_usd)
        assert check.estimate == result.totals_by("model").get(model.name, NOTHING)
    # The example stacks are within every budget at their minimum scale.
    assert [c.message() for c in checks if c.status is Status.OVER] == []
