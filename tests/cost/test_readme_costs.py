"""The README's explanation of the dev stack's cost is the estimator's answer, not a stale copy."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from infra.cost.estimate import EstimateOptions, estimate
from infra.cost.graph import Graph
from infra.cost.prices import load_snapshot
from infra.project import PROJECT_ROOT

pytestmark = pytest.mark.slow


def dollars(text: str) -> float:
    return float(text.replace(",", ""))


def readme_cost_section() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    return readme.split("## What a stack costs", 1)[1].split("\n## ", 1)[0]


def test_the_readme_table_matches_the_estimate_of_dev(stack_export):
    result = estimate(
        Graph.from_export(stack_export("dev")),
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
