"""A stack emptied of models by mistake (`modles = [...]`, a deleted line) while a base export or
the live stack still has resources of some: refused with the stack file and the opt-in named,
whether or not the placement lock holds them (EKS models are never in the lock)."""

from __future__ import annotations

import importlib
import json

import pytest
from pulumi.automation import Deployment
from typer.testing import CliRunner

import components.serving.placement
import components.serving.route_groups
import infra.lock_status
from components.serving.placement import PlacementLock
from cost_model.graph import Graph
from infra.declarations import SpecError
from infra.declarations.tags import TAG_MODEL, TAG_TEAM
from mlplat import deploy
from mlplat.cli import app
from mlplat.plan_diff import refuse_emptying_against

runner = CliRunner()
BUCKET_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


def _entry(name: str, tags) -> dict:
    return {
        "urn": f"urn:pulumi:dev::mlplat::{BUCKET_OBJECT}::{name}",
        "type": BUCKET_OBJECT,
        "inputs": {"tags": tags} if tags is not None else {},
    }


def _export(*entries: dict) -> dict:
    manifest = {"generator": "mlplat offline engine"}
    return {"version": 3, "deployment": {"manifest": manifest, "resources": list(entries)}}


# An EKS model's artifact: tagged with its model, never in the placement lock.
BASE = _export(
    _entry("recs-ranker-artifact", {TAG_MODEL: "recs-ranker", TAG_TEAM: "growth"}),
    _entry("shared-logs", {TAG_TEAM: "growth"}),
)


@pytest.fixture
def emptied(monkeypatch):
    """stacks/dev.py as if its models list were misspelt, with an empty placement lock (every
    model on EKS), so the load-time lock check has nothing to object to. Returns the module."""
    module = importlib.import_module("stacks.dev")
    monkeypatch.setattr(module, "models", [])
    for reader in (components.serving.placement, infra.lock_status):
        monkeypatch.setattr(reader, "read_placement_lock", lambda stack: PlacementLock())
    # The route lock too (stacks/dev.routes.json), which the same check reads.
    monkeypatch.setattr(components.serving.route_groups, "read_route_lock", lambda stack: {})
    return module


def test_the_graph_names_the_models_that_own_resources():
    graph = Graph.from_export(
        _export(*BASE["deployment"]["resources"], _entry("asg", [{"key": "k", "value": "v"}]))
    )
    assert graph.models() == {"recs-ranker"}


@pytest.mark.parametrize("command", ["preview", "cost"])
def test_against_a_base_with_models_an_emptied_stack_is_refused(command, emptied, tmp_path):
    base = tmp_path / "base.json"
    base.write_text(json.dumps(BASE))
    result = runner.invoke(app, [command, "--stack", "dev", "--against", str(base)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ")
    assert "stacks/dev.py" in result.output and "serves_no_models = True" in result.output
    assert f"the base export {base} has resources of 1 (recs-ranker)" in result.output
    assert "Traceback" not in result.output


def test_the_named_opt_in_or_any_model_or_a_base_without_models_passes(emptied, monkeypatch):
    base = Graph.from_export(BASE)
    with pytest.raises(SpecError):
        refuse_emptying_against("dev", base, "the base")
    unowned = Graph.from_export(_export(BASE["deployment"]["resources"][1]))
    refuse_emptying_against("dev", unowned, "a base without models")
    monkeypatch.setattr(emptied, "serves_no_models", True, raising=False)
    refuse_emptying_against("dev", base, "the base")
    monkeypatch.undo()  # the real stack file: its models
    refuse_emptying_against("dev", base, "the base")


class LiveStack:
    """The Automation API's workspace stack, up to its boundary: its state and what is called."""

    def __init__(self, resources: list[dict]) -> None:
        self.resources = resources
        self.calls: list[str] = []

    def set_config(self, key, value):
        self.calls.append(f"config {key}")

    def export_stack(self) -> Deployment:
        self.calls.append("export")
        return Deployment(version=3, deployment={"manifest": {}, "resources": self.resources})

    def preview(self, on_output, policy_packs):
        self.calls.append("preview")

    def up(self, on_output, policy_packs):
        self.calls.append("up")
        summary = type("Summary", (), {"resource_changes": {"delete": 1}})()
        return type("Result", (), {"summary": summary})()


def test_up_refuses_to_empty_a_live_stack_that_has_models(emptied, monkeypatch):
    live = LiveStack(BASE["deployment"]["resources"])
    monkeypatch.setattr(deploy, "check_prerequisites", lambda stack: None)
    monkeypatch.setattr("pulumi.automation.create_or_select_stack", lambda **_: live)
    with pytest.raises(SpecError) as refused:
        deploy.run("dev", destroy=False, on_output=lambda line: None)
    assert live.calls == ["export"]  # nothing previewed or updated
    text = refused.value.render()
    assert "stacks/dev.py" in text and "serves_no_models = True" in text
    assert "the live stack dev has resources of 1 (recs-ranker)" in text

    result = runner.invoke(app, ["up", "--stack", "dev"])
    assert result.exit_code == 2 and "serves_no_models = True" in result.output


def test_up_empties_a_live_stack_when_the_stack_file_opts_in(emptied, monkeypatch):
    live = LiveStack(BASE["deployment"]["resources"])
    monkeypatch.setattr(emptied, "serves_no_models", True, raising=False)
    monkeypatch.setattr(deploy, "check_prerequisites", lambda stack: None)
    monkeypatch.setattr("pulumi.automation.create_or_select_stack", lambda **_: live)
    assert deploy.run("dev", destroy=False, on_output=lambda line: None) == {"delete": 1}
    assert live.calls == ["export", "preview", "up"]


def test_a_team_serving_stack_emptied_of_its_team_is_refused_though_others_remain(monkeypatch):
    # dev.serving.growth's live state has growth's EKS model; the stack file keeps only other
    # teams' models: that serving stack would delete it.
    module = importlib.import_module("stacks.dev")
    others = [m for m in module.models if getattr(m, "team", None) not in (None, "growth")]
    assert others, "dev must declare a model of another team for this test"
    monkeypatch.setattr(module, "models", others)
    for reader in (components.serving.placement, infra.lock_status):
        monkeypatch.setattr(reader, "read_placement_lock", lambda stack: PlacementLock())
    monkeypatch.setattr(deploy, "refuse_stale_lock", lambda spec: None)  # tested on its own
    live = LiveStack(BASE["deployment"]["resources"])
    monkeypatch.setattr(deploy, "check_prerequisites", lambda stack: None)
    monkeypatch.setattr("pulumi.automation.create_or_select_stack", lambda **_: live)
    with pytest.raises(SpecError) as refused:
        deploy.run("dev.serving.growth", destroy=False, on_output=lambda line: None)
    assert live.calls == ["config aws:region", "export"]  # nothing previewed or updated
    assert "declares no models of team 'growth'" in refused.value.render()
    # The whole environment still declares models, so the single stack is not refused by this.
    live = LiveStack(BASE["deployment"]["resources"])
    monkeypatch.setattr("pulumi.automation.create_or_select_stack", lambda **_: live)
    deploy.run("dev", destroy=False, on_output=lambda line: None)
    assert live.calls == ["export", "preview", "up"]
