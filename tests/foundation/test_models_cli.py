"""`mlplat models list|package|place` as a user runs them."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from components.serving import placement
from infra.cli import app
from infra.project import PROJECT_ROOT
from stacks import dev

runner = CliRunner()
MODELS = sorted(model.base.name if hasattr(model, "base") else model.name for model in dev.models)


def test_list_shows_every_model_and_where_it_is_served(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps to the terminal's width
    result = runner.invoke(app, ["models", "list", "--stack", "dev"])
    assert result.exit_code == 0, result.output
    for name in MODELS:
        assert name in result.output
    assert "(EKS)" in result.output  # recs-ranker


def test_package_builds_every_models_archive_reproducibly(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    first = runner.invoke(app, ["models", "package", "--stack", "dev"])
    again = runner.invoke(app, ["models", "package", "--stack", "dev"])
    assert first.exit_code == 0, first.output
    lines = [line.split()[:2] for line in first.output.splitlines()]
    assert sorted(archive for archive, _ in lines) == sorted(
        f"{m.name}-v{m.version}.tar.gz"
        for m in (model.base if hasattr(model, "base") else model for model in dev.models)
    )
    assert first.output == again.output  # same archives, same digests


def test_place_writes_the_lock_a_fresh_checkout_would_commit(tmp_path, monkeypatch):
    (tmp_path / "stacks").mkdir()
    monkeypatch.setattr(placement, "PROJECT_ROOT", tmp_path)
    result = runner.invoke(app, ["models", "place", "--stack", "dev"])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "stacks" / "dev.placement.json").read_text())
    committed = json.loads((PROJECT_ROOT / "stacks" / "dev.placement.json").read_text())
    assert written["endpoints"] == committed["endpoints"]


def test_place_keeps_what_is_locked(tmp_path, monkeypatch):
    (tmp_path / "stacks").mkdir()
    shutil.copy(PROJECT_ROOT / "stacks" / "dev.placement.json", tmp_path / "stacks")
    monkeypatch.setattr(placement, "PROJECT_ROOT", tmp_path)
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
