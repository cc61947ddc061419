"""Re-optimising a stack's placement: the one step that may move models between endpoints.

``mlplat models place`` never moves a placed model (see ``placement.py``), so a fleet drifts
from its cheapest packing as models come and go, grow, or leave endpoints sized for their
neighbours. ``rebalance`` packs every model afresh at least cost; ``Rebalance`` says what that
moves, which endpoints it deletes and creates (SageMaker loads every model of a new endpoint
cold), and what it saves per month at minimum scale.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.serving.placement import (
    PlacementLock,
    Placer,
    as_lock,
    group_key,
    monthly_cost,
)
from infra.declarations import EnvironmentSpec


def rebalance(spec: EnvironmentSpec, previous: PlacementLock) -> PlacementLock:
    """Every model packed afresh at least cost. A new endpoint keeps an old one's name when it
    runs the same type and settings and keeps some of its models (most overlap first); the others
    get shard numbers the lock never used."""
    placer = Placer(spec)
    fresh = placer.open(placer.models, set())
    old_hosted = previous.hosted()
    pairs = sorted(
        (-len(shared), old, index)
        for index, new in enumerate(fresh)
        for old, record in previous.endpoints.items()
        if record == new.record
        and (shared := old_hosted.get(old, set()) & {m.name for m in new.models})
        and all(placer.in_group(m, old, record.instance_type) for m in new.models)
    )
    names: dict[int, str] = {}
    for _, old, index in pairs:
        if index not in names and old not in names.values():
            names[index] = old
    taken = set(old_hosted) | set(previous.endpoints)
    for index, new in enumerate(fresh):
        if index not in names:
            group = group_key(new.models[0], spec)
            names[index] = placer.next_name(group, taken | set(names.values()))
        new.name = names[index]
    return as_lock(fresh)


@dataclass(frozen=True)
class Rebalance:
    before: PlacementLock
    after: PlacementLock
    monthly_before: float
    monthly_after: float

    @property
    def moves(self) -> dict[str, tuple[str, str]]:
        """Model -> (endpoint now, endpoint after), for the models that move."""
        return {
            model: (self.before.models[model], endpoint)
            for model, endpoint in sorted(self.after.models.items())
            if self.before.models.get(model, endpoint) != endpoint
        }

    @property
    def deleted(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.before.endpoints) - set(self.after.endpoints)))

    @property
    def created(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.after.endpoints) - set(self.before.endpoints)))

    @property
    def monthly_saving(self) -> float:
        return self.monthly_before - self.monthly_after

    def as_json(self) -> dict:
        def endpoint(lock: PlacementLock, name: str) -> dict:
            record = lock.endpoints[name]
            return {
                "endpoint": name,
                "instanceType": record.instance_type,
                "minInstances": record.settings.min_instances,
            }

        return {
            "moves": [{"model": m, "from": a, "to": b} for m, (a, b) in self.moves.items()],
            "deletedEndpoints": [endpoint(self.before, n) for n in self.deleted],
            "createdEndpoints": [endpoint(self.after, n) for n in self.created],
            "monthlyUsdBefore": round(self.monthly_before, 2),
            "monthlyUsdAfter": round(self.monthly_after, 2),
            "monthlySavingUsd": round(self.monthly_saving, 2),
        }


def plan_rebalance(spec: EnvironmentSpec, current: PlacementLock) -> Rebalance:
    """``current``: the lock as ``models place`` would leave it (every declared model placed).
    A packing that saves nothing is not worth a cold reload: then nothing moves."""
    before, after = monthly_cost(current, spec), monthly_cost(rebalance(spec, current), spec)
    if after >= before:
        return Rebalance(current, current, before, before)
    return Rebalance(current, rebalance(spec, current), before, after)
