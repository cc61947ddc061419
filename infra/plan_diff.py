"""What a change does to a stack: its offline export compared with a base export, by URN.

The offline engine keeps no state, so a change is shown against a base: the export that
`mlplat preview --export` wrote for the base branch (CI can do this on every pull request).
A resource is created or deleted when its URN is on one side only, and updated when its inputs,
parent, provider, dependencies or resource options differ; the keys that differ are listed.
Properties the new side ignores (``ignoreChanges``) are left out, as the engine leaves them.
Whether the provider would update in place or replace is decided by its schema, which only the
real engine reads (`pulumi preview`), so it is not guessed here.

Both sides must come from the offline engine: a live stack's export records the real IDs and ARNs
the mocks cannot know, so every reference to them would show as a change.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from infra.cost.graph import Graph, Resource
from infra.offline import GENERATOR


class DiffError(ValueError):
    """The exports cannot be compared meaningfully."""


class Change(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class ResourceChange:
    kind: Change
    resource: Resource
    # Inputs that differ by name; parent, provider, dependencies and options as "option:<name>".
    keys: tuple[str, ...] = ()

    @property
    def urn(self) -> str:
        return self.resource.urn


@dataclass(frozen=True)
class PlanDiff:
    changes: tuple[ResourceChange, ...]
    unchanged: int

    def count(self, kind: Change) -> int:
        return Counter(change.kind for change in self.changes)[kind]

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(kind)} to {kind}" for kind in Change)
        return f"{counts}, {self.unchanged} unchanged"


def diff(base: Graph, new: Graph) -> PlanDiff:
    for side, graph in (("base", base), ("new", new)):
        if graph.generator != GENERATOR:
            raise DiffError(
                f"the {side} export was written by {graph.generator or 'an unknown generator'!r}, "
                "not the offline engine: compare two offline exports (`mlplat preview --export`), "
                "and use `pulumi preview` for the difference from a live stack"
            )
    before, after = base.by_urn, new.by_urn
    changes = [ResourceChange(Change.DELETE, before[urn]) for urn in before.keys() - after.keys()]
    changes += [ResourceChange(Change.CREATE, after[urn]) for urn in after.keys() - before.keys()]
    unchanged = 0
    for urn in before.keys() & after.keys():
        keys = _differences(before[urn], after[urn])
        if keys:
            changes.append(ResourceChange(Change.UPDATE, after[urn], keys))
        else:
            unchanged += 1
    order = list(Change)
    changes.sort(key=lambda change: (order.index(change.kind), change.urn))
    return PlanDiff(tuple(changes), unchanged)


def _differences(old: Resource, new: Resource) -> tuple[str, ...]:
    ignored = new.options.get("ignoreChanges") or ()
    before, after = _without(old.inputs, ignored), _without(new.inputs, ignored)
    inputs = sorted(
        key for key in before.keys() | after.keys() if before.get(key) != after.get(key)
    )
    options = {
        "parent": (old.parent, new.parent),
        "provider": (old.provider_urn, new.provider_urn),
        "dependencies": (sorted(old.dependencies), sorted(new.dependencies)),
    }
    options |= {
        key: (old.options.get(key), new.options.get(key))
        for key in old.options.keys() | new.options.keys()
    }
    changed = sorted(f"option:{key}" for key, (a, b) in options.items() if a != b)
    return (*inputs, *changed)


# One step of a Pulumi property path: a name (`a.b`), an index (`[0]`, `[*]`) or a key (`["k"]`).
_STEP = re.compile(r'\.?([^.\[\]"]+)|\[(\d+|\*)\]|\["([^"]*)"\]')


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for name, index, key in _STEP.findall(path):
        if index:
            steps.append("*" if index == "*" else int(index))
        else:
            steps.append(name or key)
    return steps


def _without(inputs: Mapping[str, Any], paths: Iterable[str]) -> Mapping[str, Any]:
    """``inputs`` with the values at ``paths`` removed (a copy; the resource is left as it is)."""
    if not paths:
        return inputs
    pruned = copy.deepcopy(dict(inputs))
    for path in paths:
        _remove(pruned, _steps(path))
    return pruned


def _remove(value: Any, steps: list[str | int]) -> None:
    step, rest = steps[0], steps[1:]
    if isinstance(value, dict) and isinstance(step, str):
        targets = list(value) if step == "*" else [step] if step in value else []
    elif isinstance(value, list) and (step == "*" or isinstance(step, int)):
        targets = list(range(len(value))) if step == "*" else [step] if step < len(value) else []
    else:
        return
    for target in reversed(targets):  # from the end, so list indexes stay valid
        if rest:
            _remove(value[target], rest)
        else:
            del value[target]
