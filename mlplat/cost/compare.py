"""What a change costs: a stack's estimate against the estimate of a base export.

Both sides are priced with the same snapshot and options, then compared resource by resource
(by URN) and in total by model, team and environment, at the declared minimum and maximum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cost_model.estimate import Amount, Estimate, LineItem
from cost_model.graph import Graph
from mlplat.plan_diff import Change, DiffError, ResourceChange, diff

NOTHING = Amount(0.0, 0.0)
# Below half a cent a difference is rounding, not a change.
CENT = 0.005


@dataclass(frozen=True)
class AmountChange:
    base: Amount
    new: Amount

    @property
    def delta(self) -> Amount:
        return Amount(
            self.new.monthly - self.base.monthly, self.new.max_monthly - self.base.max_monthly
        )

    @property
    def changed(self) -> bool:
        return abs(self.delta.monthly) >= CENT or abs(self.delta.max_monthly) >= CENT


@dataclass(frozen=True)
class ItemChange:
    kind: Change
    base: LineItem | None
    new: LineItem | None

    @property
    def item(self) -> LineItem:
        """The item as it will be (as it was, for a deleted resource)."""
        return self.new or self.base  # type: ignore[return-value]

    @property
    def amount(self) -> AmountChange:
        return AmountChange(_amount(self.base), _amount(self.new))


@dataclass(frozen=True)
class CostChange:
    base: Estimate
    new: Estimate
    # What the change replaces, by URN (`replacements`): a replaced endpoint configuration swaps
    # its endpoint blue/green, both fleets running until the new one is in service.
    replaced: Mapping[str, ResourceChange] = field(default_factory=dict)
    # Why replacements could not be judged (exports not both offline), or None.
    unjudged: str | None = None

    @property
    def total(self) -> AmountChange:
        return AmountChange(self.base.total, self.new.total)

    def by(self, dimension: str) -> dict[str, AmountChange]:
        """Totals for 'model', 'team' or 'environment' that the change moves, by name."""
        before, after = self.base.totals_by(dimension), self.new.totals_by(dimension)
        changes = {
            name: AmountChange(before.get(name, NOTHING), after.get(name, NOTHING))
            for name in sorted(before.keys() | after.keys())
        }
        return {name: change for name, change in changes.items() if change.changed}

    def items(self) -> list[ItemChange]:
        """Priced resources the change creates, replaces, deletes, or whose cost or split it
        changes."""
        before = {item.urn: item for item in self.base.items}
        after = {item.urn: item for item in self.new.items}
        changes = []
        for urn in sorted(before.keys() | after.keys()):
            old, new = before.get(urn), after.get(urn)
            kind = Change.CREATE if old is None else Change.DELETE if new is None else Change.UPDATE
            if kind is Change.UPDATE and urn in self.replaced:
                kind = Change.REPLACE
            change = ItemChange(kind, old, new)
            if kind is not Change.UPDATE or change.amount.changed or _owners(old) != _owners(new):
                changes.append(change)
        return changes


def replacements(base: Graph, new: Graph) -> tuple[dict[str, ResourceChange], str | None]:
    """The plan diff's replacements by URN, or none and the reason they cannot be judged."""
    try:
        plan = diff(base, new)
    except DiffError as error:
        return {}, str(error)
    return {c.urn: c for c in plan.changes if c.kind is Change.REPLACE}, None


def _owners(item: LineItem) -> tuple:
    """Who pays for the item, and in what parts (the order of a shared endpoint's models aside)."""
    return tuple(sorted(item.allocations(dimension)) for dimension in ("team", "model"))


def _amount(item: LineItem | None) -> Amount:
    return NOTHING if item is None else Amount(item.monthly, item.max_monthly)
