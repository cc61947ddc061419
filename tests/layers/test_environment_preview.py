"""The whole environment (``<env>.*``): every layer in one document, priced and checked at once."""

from __future__ import annotations

import pytest

from cost_model.estimate import estimate
from cost_model.graph import Graph
from cost_model.prices import load_snapshot
from infra.tagging import STACK_TYPE
from mlplat.offline import environment_document


def _total(document: dict) -> tuple[float, float]:
    amount = estimate(Graph.from_export(document), load_snapshot()).total
    return amount.monthly, amount.max_monthly  # unrounded: a sum of rounded parts drifts by cents


def test_the_environment_costs_what_its_layers_cost_together(layer_exports):
    layers = layer_exports("dev")
    whole = environment_document(layers)
    per_layer = [_total(document) for document in layers.values()]
    # Each total is rounded to the cent: the sum of rounded layers may differ by half a cent each.
    cents = 0.005 * len(per_layer)
    assert _total(whole) == (
        pytest.approx(sum(low for low, _ in per_layer), abs=cents),
        pytest.approx(sum(high for _, high in per_layer), abs=cents),
    )
    assert sum(low > 0 for low, _ in per_layer) >= 2  # more than one layer costs something


def test_the_environment_holds_every_layer_once(layer_exports):
    layers = layer_exports("dev")
    whole = environment_document(layers)["deployment"]["resources"]
    assert [r["urn"] for r in whole if r["type"] == STACK_TYPE] == [
        f"urn:pulumi:{stack}::mlplat::{STACK_TYPE}::mlplat-{stack}" for stack in layers
    ]
    assert len(whole) == sum(len(d["deployment"]["resources"]) for d in layers.values())
