"""Smoke run of the serving economics benchmark: a small generated fleet, its placement no
cheaper than the proven optimum and no dearer than one endpoint per model, and no change of one
model reaching another."""

from __future__ import annotations

import pytest

from benchmarks.placement_economics import blast_radius, costs, generated_fleet


@pytest.mark.slow
def test_placement_economics_on_a_small_fleet():
    spec = generated_fleet(40, seed=3)
    result = costs(spec)
    assert result["bound_proven"]
    assert result["closed_form_bound"] <= result["lower_bound"] + 0.01
    assert result["lower_bound"] <= result["placed"] + 0.01
    assert result["placed"] <= result["one_per_model"]
    reach = blast_radius(spec, changes=4, seed=3)
    assert reach["changes"] == 4 * 5
    assert reach["moved_others"] == 0 and reach["touched_endpoints"] == 0
