"""Smoke run of the layered scale benchmark: small N, every stack (every shard) measured, a model
change touching one shard of its team's serving layer alone."""

from __future__ import annotations

import pytest
from test_preview_scale_smoke import _benchmark


@pytest.mark.slow
def test_layers_scale_runs_for_twenty_models_over_two_teams():
    result = _benchmark(
        "layers_scale.py", "--models", "20", "--teams", "2", "--models-per-shard", "4"
    )
    assert result["serving_shards"] == {"team-00": 3, "team-01": 3}
    assert set(result["stacks"]) == {"dev.platform"} | {
        f"dev.serving.{team}{shard}"
        for team in ("team-00", "team-01")
        for shard in ("", ".1", ".2")
    }
    assert all(
        s["resources"] > 0 and s["typed_floor_seconds"] > 0 for s in result["stacks"].values()
    )
    # The layers hold the single stack's resources (plus each serving stack's glue).
    assert sum(s["resources"] for s in result["stacks"].values()) > result["single"]["resources"]
    change = result["model_change"]
    assert len(change["stacks_changed"]) == 1
    assert change["stacks_changed"][0].startswith("dev.serving.team-00")
    assert 0 < change["layered_stack_changed"] == change["single_stack_changed"]
    assert change["layered_stack_previewed"] < change["single_stack_previewed"]
