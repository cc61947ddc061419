"""The README's explanation of the dev stack's cost is the estimator's answer, not a stale copy."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from cost_model.estimate import EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import load_snapshot
from infra.project import PROJECT_ROOT
from mlplat.cost.compare import CostChange
from mlplat.plan_diff import Change, diff
from model_packages import (
    chargeback_risk,
    churn_predictor,
    fraud_scorer,
    product_embedder,
    recs_ranker,
)

pytestmark = pytest.mark.slow


def readme_models():
    """The models the README's dev example describes, whatever stacks/dev.py declares today (so
    adding, changing or removing a model in dev does not make this documentation test fail)."""
    return [
        fraud_scorer.model,
        chargeback_risk.model,
        churn_predictor.model,
        product_embedder.model,
        recs_ranker.model.override(scaling={"min_instances": 1, "max_instances": 2}),
    ]


@pytest.fixture(scope="module")
def readme_export():
    import importlib

    from mlplat.offline import preview_stack

    module = importlib.import_module("stacks.dev")
    declared = module.models
    module.models = readme_models()
    try:
        return preview_stack("dev")
    finally:
        module.models = declared


def dollars(text: str) -> float:
    return float(text.replace(",", ""))


def readme_section(title: str) -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    return readme.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def readme_cost_section() -> str:
    return readme_section("What a stack costs")


def test_the_readme_table_matches_the_estimate_of_dev(readme_export):
    result = estimate(
        Graph.from_export(readme_export),
        load_snapshot(),
        EstimateOptions(as_of=dt.date(2026, 11, 28)),  # the date the README states
    )
    section = readme_cost_section()
    total = re.search(r"\*\*Total\*\* \| \*\*\$([\d,.]+)\*\* \| \*\*\$([\d,.]+)\*\*", section)
    assert total, "the README's cost table has no Total row"
    assert dollars(total[1]) == pytest.approx(result.total.monthly, abs=0.01)
    assert dollars(total[2]) == pytest.approx(result.total.max_monthly, abs=0.01)

    rows = re.findall(r"^\| (?!Line|---|\*\*).*? \| \$([\d,.]+) \|", section, flags=re.MULTILINE)
    assert sum(dollars(amount) for amount in rows) == pytest.approx(result.total.monthly, abs=0.05)

    teams = result.totals_by("team")
    for team in ("growth", "fraud"):
        stated = re.search(rf"{team} \$([\d,.]+)", section)
        assert stated and dollars(stated[1]) == pytest.approx(teams[team].monthly, abs=0.01)


def test_the_readme_change_example_is_what_the_tools_report(readme_export, preview_with_models):
    section = " ".join(readme_section("What a change creates and costs").split())
    stated = re.search(
        r"raising churn-predictor's `min_instances` from 1 to 2 in dev updates (\d+) resources.*?"
        r"costs \+\$([\d,.]+) a month",
        section,
    )
    assert stated, "the README's change example is not where this test reads it"

    def raise_floor(models):
        churn = churn_predictor.model
        return [
            churn.override(scaling={"min_instances": 2}) if m is churn else m
            for m in readme_models()
        ]

    base, new = readme_export, preview_with_models("dev", raise_floor)
    plan = diff(Graph.from_export(base), Graph.from_export(new))
    updates = {c.resource.type: c.keys for c in plan.changes if c.kind is Change.UPDATE}
    assert len(plan.changes) == len(updates) == int(stated[1])
    assert updates == {
        "aws:appautoscaling/target:Target": ("minCapacity",),
        "aws:cloudwatch/dashboard:Dashboard": ("dashboardBody",),
    }

    snapshot, options = load_snapshot(), EstimateOptions(as_of=dt.date(2026, 11, 28))
    change = CostChange(
        estimate(Graph.from_export(base), snapshot, options),
        estimate(Graph.from_export(new), snapshot, options),
    )
    assert change.total.delta.monthly == pytest.approx(dollars(stated[2]), abs=0.01)
    assert change.total.delta.max_monthly == pytest.approx(0, abs=0.01)
    assert set(change.by("model")) == {"churn-predictor"}
    assert set(change.by("team")) == {"growth"}
