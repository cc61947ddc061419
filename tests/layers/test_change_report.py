"""The pull request's change report, per layered stack: each touched stack's creates, updates,
deletes and cost, the same figures `mlplat preview --against` and `mlplat cost --against` print."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cost_model.estimate import EstimateOptions
from cost_model.prices import load_snapshot
from mlplat.change_report import render, reports
from mlplat.cli import app
from mlplat.touched import touched_stacks

OPTIONS = EstimateOptions()


def _raise_minimum(models):
    """The first multi-model-endpoint model of the stack file at two instances (a cost change)."""
    target = next(m for m in models if getattr(m, "serving", "sagemaker-mme") == "sagemaker-mme")
    return [m.override(scaling={"min_instances": 2}) if m is target else m for m in models]


def _row(markdown: str, stack: str) -> list[str]:
    (line,) = [line for line in markdown.splitlines() if line.startswith(f"| `{stack}`")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_each_touched_stack_is_one_row_with_the_commands_figures(
    layer_exports, layers_with_models, tmp_path
):
    before = layer_exports("dev")
    after = layers_with_models("dev", _raise_minimum)
    found = reports(before, after, load_snapshot(), OPTIONS)
    assert [r.stack for r in found] == touched_stacks(before, after) != []
    markdown = render("dev", sorted(before), found)

    for report in found:
        base, new = tmp_path / f"{report.stack}.base.json", tmp_path / f"{report.stack}.json"
        base.write_text(json.dumps(before[report.stack]))
        new.write_text(json.dumps(after[report.stack]))
        cost = CliRunner().invoke(
            app, ["cost", "--file", str(new), "--against", str(base), "--json"]
        )
        assert cost.exit_code == 0, cost.output
        assert report.cost == json.loads(cost.output)
        cells = _row(markdown, report.stack)
        counts = report.preview["counts"]
        kinds = ("create", "update", "replace", "delete")
        assert cells[1:5] == [str(counts[k]) for k in kinds]
        assert cells[6] == f"+${report.cost['delta_monthly']:,.2f}"
    assert any(r.cost["delta_monthly"] > 0 for r in found)  # the minimum raised costs more
    for untouched in set(before) - {r.stack for r in found}:
        assert f"`{untouched}`" in markdown.split("\n\n")[1]  # named as unchanged
        assert not any(line.startswith(f"| `{untouched}`") for line in markdown.splitlines())


def test_a_new_stack_is_all_creates_and_a_removed_one_all_deletes(layer_exports):
    exports = layer_exports("dev")
    serving = next(s for s in exports if ".serving." in s)
    entries = len(exports[serving]["deployment"]["resources"])
    without = {s: d for s, d in exports.items() if s != serving}

    (added,) = reports(without, exports, load_snapshot(), OPTIONS)
    assert (added.stack, added.new) == (serving, True)
    assert added.preview["counts"] == {"create": entries, "update": 0, "replace": 0, "delete": 0}
    assert added.cost["base_total_monthly"] == 0 < added.cost["total_monthly"]
    assert "(new)" in render("dev", sorted(exports), [added])

    (removed,) = reports(exports, without, load_snapshot(), OPTIONS)
    assert removed.preview["counts"] == {"create": 0, "update": 0, "replace": 0, "delete": entries}
    assert removed.cost["total_monthly"] == 0 < removed.cost["base_total_monthly"]


def test_no_change_says_so(layer_exports):
    exports = layer_exports("dev")
    assert reports(exports, exports, load_snapshot(), OPTIONS) == []
    assert "No stack changes." in render("dev", sorted(exports), [])
