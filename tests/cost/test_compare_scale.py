"""What a change costs when only its ceiling moves: the maximum scale is half of every estimate.

A change that raises an endpoint's maximum instances costs nothing at the floor but more at full
scale; the comparison must show it (per resource, per model, per team and in total), and a change
of the floor alone must show at the minimum while the maximum stays put.
"""

from __future__ import annotations

import pytest
from cost_exports import export, multi_model_endpoint
from test_cost_compare import CHURN, FRAUD, KEY

from cost_model.estimate import Amount, EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import load_snapshot
from mlplat.cost.compare import CENT, AmountChange, CostChange
from mlplat.plan_diff import Change

INSTANCE_MONTH = 167.90  # ml.m5.xlarge in us-east-1: 730 h x $0.23


def _endpoint(min_capacity: int, max_capacity: int) -> dict:
    return export(
        *multi_model_endpoint(
            "cpu-mme",
            "ml.m5.xlarge",
            [FRAUD, CHURN],
            min_capacity=min_capacity,
            max_capacity=max_capacity,
        ),
        KEY,
    )


def _change(base: dict, new: dict) -> CostChange:
    snapshot, options = load_snapshot(), EstimateOptions()
    return CostChange(
        estimate(Graph.from_export(base), snapshot, options),
        estimate(Graph.from_export(new), snapshot, options),
    )


@pytest.mark.parametrize(
    ("base", "new", "floor", "ceiling"),
    [((2, 4), (2, 6), 0, 2), ((2, 6), (2, 4), 0, -2), ((2, 4), (3, 4), 1, 0)],
)
def test_a_change_of_one_bound_shows_at_that_bound_only(base, new, floor, ceiling):
    change = _change(_endpoint(*base), _endpoint(*new))
    total = change.total
    assert total.changed
    assert round(total.delta.monthly, 2) == round(floor * INSTANCE_MONTH, 2)
    assert round(total.delta.max_monthly, 2) == round(ceiling * INSTANCE_MONTH, 2)
    (item,) = change.items()
    assert item.kind is Change.UPDATE and item.amount.changed
    # Both models and both teams share the endpoint, so each sees its part of the move.
    assert set(change.by("model")) == {"fraud", "churn"}
    assert set(change.by("team")) == {"risk", "growth"}
    models = change.by("model").values()
    assert sum(c.delta.max_monthly for c in models) == pytest.approx(total.delta.max_monthly)


@pytest.mark.parametrize("side", ["monthly", "max_monthly"])
@pytest.mark.parametrize(
    ("delta", "changed"), [(0.0, False), (CENT / 2, False), (CENT, True), (-CENT, True)]
)
def test_a_difference_of_half_a_cent_or_more_on_either_side_is_a_change(side, delta, changed):
    base = Amount(0.0, 0.0)  # exact in binary floating point, so CENT is exactly the delta
    moved = {"monthly": base.monthly, "max_monthly": base.max_monthly}
    moved[side] += delta
    assert AmountChange(base, Amount(**moved)).changed is changed
