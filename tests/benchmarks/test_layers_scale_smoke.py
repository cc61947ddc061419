"""Smoke run of the layered scale benchmark: small N, every stack measured, a model change
touching its team's serving stack alone."""

from __future__ import annotations

import pytest
from test_preview_scale_smoke import _benchmark


@pytest.mark.slow
def test_layers_scale_runs_for_twenty_models_over_two_teams():
    result = _benchmark("layers_scale.py", "--models", "20", "--teams", "2")
    assert set(result["stacks"]) == {"dev.platform", "dev.serving.team-00", "dev.serving.team-01"}
    assert all(
        s["resources"] > 0 and s["typed_floor_seconds"] > 0 for s in result["stacks"].values()
    )
    # The layers hold the single stack's resources (plus each serving stack's glue).
    assert sum(s["resources"] for s in result["stacks"].values()) > result["single"]["resources"]
    change = result["model_change"]
    assert change["stacks_changed"] == ["dev.serving.team-00"]
    assert 0 < change["layered_stack_changed"] == change["single_stack_changed"]
    assert change["layered_stack_previewed"] < change["single_stack_previewed"]
