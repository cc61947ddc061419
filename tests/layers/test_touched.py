"""Which stacks CI deploys for a change: the ones whose exports differ, platform first."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys

import pytest

from infra.project import PROJECT_ROOT
from mlplat.touched import deployment_order, touched_stacks


def test_the_platform_is_deployed_before_any_serving_stack():
    stacks = ["dev.serving.growth", "dev.platform", "dev.serving.fraud"]
    assert deployment_order(stacks) == ["dev.platform", "dev.serving.fraud", "dev.serving.growth"]


def test_only_stacks_whose_exports_differ_are_touched(layer_exports):
    before = layer_exports("dev")
    after = copy.deepcopy(before)
    assert touched_stacks(before, after) == []
    growth = after["dev.serving.growth"]["deployment"]["resources"]
    endpoint = next(r for r in growth if r["type"] == "aws:sagemaker/endpoint:Endpoint")
    endpoint["protect"] = True
    platform = after["dev.platform"]["deployment"]["resources"]
    platform.pop()
    assert touched_stacks(before, after) == ["dev.platform", "dev.serving.growth"]


def test_a_stack_on_one_side_only_is_touched(layer_exports):
    before = layer_exports("dev")
    after = {**before, "dev.serving.new-team": before["dev.serving.fraud"]}
    assert touched_stacks(before, after) == ["dev.serving.new-team"]


def test_the_command_compares_two_folders_of_exports(tmp_path, layer_exports):
    from mlplat.offline.export import write

    documents = layer_exports("dev")
    for side in ("before", "after"):
        (tmp_path / side).mkdir()
        for stack, document in documents.items():
            if side == "after" and stack == "dev.serving.fraud":
                document = copy.deepcopy(document)
                document["deployment"]["resources"][-1]["protect"] = True
            write(document, tmp_path / side / f"{stack}.json")
    result = subprocess.run(
        [sys.executable, "-m", "mlplat.touched", "compare"]
        + [tmp_path / "before", tmp_path / "after"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["dev.serving.fraud"]


# --- .ci/touched-stacks itself, on a repository with a base commit and a change ----------------


def _first_model_line(text: str) -> re.Match:
    """The first model the stack file lists as a declaration (``    <package>.model,``)."""
    match = re.search(r"^    (\w+)\.model,$", text.split("models = [", 1)[1], flags=re.MULTILINE)
    assert match, "stacks/dev.py lists no `<package>.model,` line to change"
    return match


NEEDS_GIT = pytest.mark.skipif(
    shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists(),
    reason="needs a git checkout (the CI-green test runs the suite in a plain copy)",
)


@pytest.fixture
def repository(tmp_path):
    """A git repository of the working tree's tracked files, committed once (the base)."""
    from tests.test_model_changes_keep_ci_green import copy_repository

    repo = copy_repository(tmp_path / "repo")
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run([*git, *command], cwd=repo, check=True, capture_output=True)
    return repo


def _touched(repo) -> list[str]:
    result = subprocess.run(
        [str(repo / ".ci" / "touched-stacks"), "main", "dev"],
        capture_output=True,
        text=True,
        cwd=repo,
        env={**os.environ, "MLPLAT_PYTHON": sys.executable},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()


def _change_a_model(repo) -> str:
    """Raise the first listed model's minimum scale in stacks/dev.py; returns its team."""
    import importlib

    stack_file = repo / "stacks" / "dev.py"
    text = stack_file.read_text()
    package = _first_model_line(text)[1]
    stack_file.write_text(
        text.replace(
            f"    {package}.model,\n",
            f'    {package}.model.override(scaling={{"min_instances": 2}}),\n',
            1,
        )
    )
    return importlib.import_module(f"model_packages.{package}").model.team


@pytest.mark.slow
@NEEDS_GIT
def test_a_model_change_touches_its_teams_serving_stack_alone(repository):
    team = _change_a_model(repository)
    assert _touched(repository) == [f"dev.serving.{team}"]


@pytest.mark.slow
@NEEDS_GIT
def test_a_platform_change_is_deployed_first_then_the_teams(repository):
    team = _change_a_model(repository)
    config = repository / "Pulumi.dev.yaml"
    text = config.read_text()
    assert "monthlyBudgetUsd: " in text
    config.write_text(re.sub(r"monthlyBudgetUsd: (\d+)", r"monthlyBudgetUsd: \g<1>1", text))
    assert _touched(repository) == ["dev.platform", f"dev.serving.{team}"]
