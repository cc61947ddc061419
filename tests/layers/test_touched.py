"""Which stacks CI deploys for a change: the ones whose exports differ, platform first."""

from __future__ import annotations

import copy
import subprocess
import sys

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
