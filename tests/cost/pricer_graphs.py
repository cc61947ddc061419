"""Pricing a hand-made graph for the pricer tests (test_*_pricers.py): the real snapshot, or
the snapshot with some of us-east-1's prices changed or taken away."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cost_model.estimate import Estimate, EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import PriceSnapshot, load_snapshot
from tests.cost.cost_exports import export

OPTIONS = EstimateOptions(as_of=dt.date(2026, 11, 28))


def price(*resources: dict[str, Any], snapshot: PriceSnapshot | None = None) -> Estimate:
    return estimate(Graph.from_export(export(*resources)), snapshot or load_snapshot(), OPTIONS)


def east_with(**changes: Any) -> PriceSnapshot:
    """The snapshot with these RegionPrices fields of us-east-1 replaced (None: no such rates)."""
    snapshot = load_snapshot()
    east = snapshot.regions["us-east-1"].model_copy(update=changes)
    return snapshot.model_copy(update={"regions": {**snapshot.regions, "us-east-1": east}})
