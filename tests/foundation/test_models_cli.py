"""`mlplat models list|package|place` as a user runs them."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from components.serving import placement, placement_lock, route_groups
from infra.loader import load_environment, read_stack_config
from infra.project import PROJECT_ROOT
from mlplat.cli import app
from stacks import dev

runner = CliRunner()
BOX_AND_ESCAPE = set("│┃─━┌┐└┘├┤┬┴┼╭╮╰╯\x1b")



@pytest.fixture(autouse=True)
def _route_locks_in_a_temporary_folder(tmp_path_factory, monkeypatch):
    """`models place` writes the route lock as well: here it writes a copy of the committed
    locks, never the repository's own files."""
    root = tmp_path_factory.mktemp("route-locks")
    (root / "stacks").mkdir()
    for lock in (PROJECT_ROOT / "stacks").glob("*.routes.json"):
        shutil.copy(lock, root / "stacks")
    monkeypatch.setattr(route_groups, "PROJECT_ROOT", root)

def _spec(stack):
    return load_environment(stack, read_stack_config(stack))


MODELS = sorted(model.base.name if hasattr(model, "base") else model.name for model in dev.models)


def test_list_shows_every_model_and_where_it_is_served():
    result = runner.invoke(app, ["models", "list", "--stack", "dev", "--json"])
    assert result.exit_code == 0, result.output
    listed = {m["model"]: m for m in json.loads(result.output)["models"]}
    assert sorted(listed) == MODELS
    plans = placement.plan_endpoints(_spec("dev"))
    for model in _spec("dev").models:
        entry = listed[model.name]
        assert entry["team"] == model.team and entry["serving"] == model.serving.value
        assert entry["monthly_budget_usd"] == float(model.monthly_budget_usd)
        on_endpoint = [plan for plan in plans if model.name in {m.name for m in plan.models}]
        if on_endpoint:  # SageMaker: its endpoint and the archive it asks for by TargetModel
            assert entry["endpoint"] == on_endpoint[0].endpoint_name
            assert entry["target_model"] == f"{model.name}-v{model.version}.tar.gz"
        else:  # EKS: no endpoint
            assert entry["endpoint"] is None and entry["target_model"] is None


def test_list_reads_whole_at_80_columns_and_piped():
    """Piped (as CliRunner is): one plain line per model, every value whole, no box drawing."""
    result = runner.invoke(app, ["models", "list", "--stack", "dev"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert not set(result.output) & BOX_AND_ESCAPE
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[2:] if line}
    for model in _spec("dev").models:
        assert rows[model.name][:4] == [model.name, str(model.version), model.team, model.framework]


def test_package_builds_every_models_archive_reproducibly():
    first = runner.invoke(app, ["models", "package", "--stack", "dev", "--json"])
    again = runner.invoke(app, ["models", "package", "--stack", "dev", "--json"])
    assert first.exit_code == 0, first.output
    archives = json.loads(first.output)["archives"]
    assert sorted(a["archive"] for a in archives) == sorted(
        f"{m.name}-v{m.version}.tar.gz"
        for m in (model.base if hasattr(model, "base") else model for model in dev.models)
    )
    for archive in archives:
        assert (PROJECT_ROOT / archive["path"]).is_file()  # relative to the project, or absolute
    assert first.output == again.output  # same archives, same digests
    plain = runner.invoke(app, ["models", "package", "--stack", "dev"], env={"COLUMNS": "80"})
    assert plain.exit_code == 0, plain.output
    lines = [line.split() for line in plain.output.splitlines()]
    for archive in archives:  # piped: each archive whole on one line, with its digest and path
        assert [archive["archive"], archive["sha256"], archive["path"]] in lines


def test_place_without_a_lock_writes_a_current_lock_no_dearer_than_the_committed_one(
    tmp_path, monkeypatch
):
    committed = placement.read_placement_lock("dev")
    (tmp_path / "stacks").mkdir()
    monkeypatch.setattr(placement_lock, "PROJECT_ROOT", tmp_path)
    result = runner.invoke(app, ["models", "place", "--stack", "dev"])
    assert result.exit_code == 0, result.output
    written = placement.read_placement_lock("dev")
    spec = _spec("dev")
    assert set(written.models) == set(committed.models)
    assert placement.place(spec, written) == written
    assert placement.monthly_cost(written, spec) <= placement.monthly_cost(committed, spec)


def test_place_keeps_what_is_locked(tmp_path, monkeypatch):
    (tmp_path / "stacks").mkdir()
    shutil.copy(PROJECT_ROOT / "stacks" / "dev.placement.json", tmp_path / "stacks")
    monkeypatch.setattr(placement_lock, "PROJECT_ROOT", tmp_path)
    before = (tmp_path / "stacks" / "dev.placement.json").read_text()
    assert runner.invoke(app, ["models", "place", "--stack", "dev"]).exit_code == 0
    assert json.loads((tmp_path / "stacks" / "dev.placement.json").read_text()) == json.loads(
        before
    )


def test_a_bad_stack_is_an_input_error():
    for command in ("list", "package", "place"):
        result = runner.invoke(app, ["models", command, "--stack", "qa"])
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output
        assert result.output.startswith("error: ") and "the stacks are" in result.output


def _rebalance(tmp_path, monkeypatch, *flags, columns="80"):
    if not (tmp_path / "stacks").exists():  # the committed lock, then whatever was written
        (tmp_path / "stacks").mkdir()
        shutil.copy(PROJECT_ROOT / "stacks" / "dev.placement.json", tmp_path / "stacks")
    monkeypatch.setattr(placement_lock, "PROJECT_ROOT", tmp_path)
    result = runner.invoke(
        app, ["models", "place", "--stack", "dev", "--rebalance", *flags], env={"COLUMNS": columns}
    )
    assert result.exit_code == 0, result.output
    return result


def test_rebalance_says_what_moves_what_it_saves_and_which_endpoints_it_replaces(
    tmp_path, monkeypatch
):
    spec = _spec("dev")
    before = placement.read_placement_lock("dev")
    report = json.loads(_rebalance(tmp_path, monkeypatch, "--json").output)
    after = placement.read_placement_lock("dev")  # written to the temporary stacks folder
    assert report["written"] is True
    assert placement.place(spec, after) == after  # a current lock
    moves = {m["model"]: (m["from"], m["to"]) for m in report["moves"]}
    assert moves == {
        m: (before.models[m], after.models[m])
        for m in after.models
        if before.models[m] != after.models[m]
    }
    deleted = {e["endpoint"] for e in report["deletedEndpoints"]}
    created = {e["endpoint"] for e in report["createdEndpoints"]}
    assert deleted == set(before.endpoints) - set(after.endpoints)
    assert created == set(after.endpoints) - set(before.endpoints)
    # Every move is to an endpoint that is new or kept; nothing moves for free.
    assert report["monthlyUsdBefore"] == round(placement.monthly_cost(before, spec), 2)
    assert report["monthlyUsdAfter"] == round(placement.monthly_cost(after, spec), 2)
    assert report["monthlySavingUsd"] == pytest.approx(
        report["monthlyUsdBefore"] - report["monthlyUsdAfter"], abs=0.01
    )
    assert (report["monthlySavingUsd"] > 0) is bool(moves)


def test_rebalance_table_reads_whole_at_80_columns_and_dry_run_writes_nothing(
    tmp_path, monkeypatch
):
    committed = (PROJECT_ROOT / "stacks" / "dev.placement.json").read_text()
    result = _rebalance(tmp_path, monkeypatch, "--dry-run")
    assert (tmp_path / "stacks" / "dev.placement.json").read_text() == committed
    assert "dry run: nothing written" in result.output
    assert not set(result.output) & BOX_AND_ESCAPE
    assert all(len(line) <= 80 for line in result.output.splitlines())
    report = json.loads(_rebalance(tmp_path, monkeypatch, "--dry-run", "--json").output)
    for move in report["moves"]:  # each move is one whole line: model, from, to
        assert any(
            line.split() == [move["model"], move["from"], move["to"]]
            for line in result.output.splitlines()
        )
    assert f"(saves ${report['monthlySavingUsd']:,.2f})" in result.output


def test_rebalance_of_a_placement_that_is_already_cheapest_moves_nothing(tmp_path, monkeypatch):
    _rebalance(tmp_path, monkeypatch)  # the first one moves what it saves by
    again = _rebalance(tmp_path, monkeypatch, "--json")
    report = json.loads(again.output)
    assert report["moves"] == [] and report["monthlySavingUsd"] == 0
