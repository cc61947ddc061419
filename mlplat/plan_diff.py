"""What a change does to a stack: its offline export compared with a base export, by URN.

The offline engine keeps no state, so a change is shown against a base: the export that
`mlplat preview --export` wrote for the base branch (CI can do this on every pull request).
A resource is created or deleted when its URN is on one side only, and updated when its inputs,
parent, provider, dependencies or resource options differ; the keys that differ are listed.
At each ``ignoreChanges`` path the new inputs keep the old value, as the engine keeps it. A change
to resource options alone (``option:protect``, ``option:dependencies``, ...) is listed as an update
too, though the engine may record it without calling the provider.
Whether the provider would update in place or replace is decided by its schema, which only the
real engine reads (`pulumi preview`), so it is not guessed here.

Both sides must come from the offline engine: a live stack's export records the real IDs and ARNs
the mocks cannot know, so every reference to them would show as a change.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cost_model.graph import Graph, Resource
from mlplat.offline import GENERATOR


class DiffError(ValueError):
    """The exports cannot be compared meaningfully."""


class Change(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


_MARKS = {Change.CREATE: "[green]+[/]", Change.UPDATE: "[yellow]~[/]", Change.DELETE: "[red]-[/]"}


def mark(kind: Change) -> str:
    """The sign a table shows for a change, in rich markup: + create, ~ update, - delete."""
    return _MARKS[kind]


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

    @property
    def total(self) -> int:
        """Resources in the new export: created, updated and unchanged. Like the preview's total,
        this counts every entry of the export, the stack and its providers included."""
        return self.count(Change.CREATE) + self.count(Change.UPDATE) + self.unchanged

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(kind)} to {kind}" for kind in Change)
        return (
            f"{counts}, {self.unchanged} unchanged; {self.total} resources in the new export "
            "(the stack and providers included)"
        )


def refuse_emptying_against(stack: str, base: Graph, where: str) -> None:
    """A change that leaves ``stack`` declaring no models while the base (``where``) has
    resources of some is a SpecError naming the stack file and its opt-in, ``serves_no_models``:
    deployed, it would delete them all (a misspelt ``models`` list, often)."""
    from infra.layers import environment_of
    from infra.loader import load_environment, read_stack_config, refuse_emptying

    environment = environment_of(stack)
    spec = load_environment(environment, read_stack_config(environment))
    refuse_emptying(spec, base.models(), where)


def diff(base: Graph, new: Graph) -> PlanDiff:
    for side, graph in (("base", base), ("new", new)):
        if graph.generator != GENERATOR:
            raise DiffError(
                f"the {side} export was written by {graph.generator or 'an unknown generator'!r}, "
                "not the offline engine: compare two offline exports (`mlplat preview --export`), "
                "and use `pulumi preview` for the difference from a live stack"
            )
    if base.resources and new.resources:
        old_stack, new_stack = base.resources[0].stack, new.resources[0].stack
        if old_stack != new_stack:
            raise DiffError(
                f"the base export is of stack {old_stack!r}, the change of {new_stack!r}"
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
    before, after = old.inputs, _ignoring(old, new)
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


def _ignoring(old: Resource, new: Resource) -> Mapping[str, Any]:
    """``new``'s inputs as the engine compares them: at each ``ignoreChanges`` path the old value
    (or none, where the old inputs have none), path after path, on a copy."""
    paths = new.options.get("ignoreChanges") or ()
    if not paths:
        return new.inputs
    inputs = copy.deepcopy(dict(new.inputs))
    for path in paths:
        try:
            steps = _steps(path)
        except ValueError as error:
            raise DiffError(f"{new.urn}: ignoreChanges {path!r}: {error}") from None
        if not _reset(old.inputs, inputs, steps):
            raise DiffError(
                f"{new.urn}: cannot ignore changes to {path!r}: the new inputs have nothing there"
            )
    return inputs


_NAME = re.compile(r"[^.\[\]]+")


def _steps(path: str) -> list[str | int]:
    """A Pulumi property path (`a.b[0]["k.e\\"y"][*]`) as its steps; `*` is a wildcard."""
    steps: list[str | int] = []
    i = 0
    while i < len(path):
        if path.startswith('["', i):  # a quoted key, with JSON escapes
            j = i + 2
            while j < len(path) and path[j] != '"':
                j += 2 if path[j] == "\\" else 1
            if not path.startswith('"]', j):
                raise ValueError(f"unterminated key at {i}")
            steps.append(json.loads(path[i + 1 : j + 1]))
            i = j + 2
        elif path.startswith("[", i):
            j = path.find("]", i)
            token = path[i + 1 : j] if j > 0 else ""
            if not (token.isdigit() or token == "*"):
                raise ValueError(f"expected an index or * in brackets at {i}")
            steps.append("*" if token == "*" else int(token))
            i = j + 1
        else:
            if steps:
                if path[i] != ".":
                    raise ValueError(f"expected '.' or '[' at {i}")
                i += 1
            name = _NAME.match(path, i)
            if name is None:
                raise ValueError(f"expected a property name at {i}")
            steps.append(name[0])
            i = name.end()
    if not steps:
        raise ValueError("empty path")
    return steps


_ABSENT = object()


def _get(container: Any, key: str | int) -> Any:
    if isinstance(container, dict) and isinstance(key, str):
        return container.get(key, _ABSENT)
    if isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container):
        return container[key]
    return _ABSENT


def _reset(old: Any, new: Any, steps: list[str | int]) -> bool:
    """Give ``new`` the value ``old`` has at ``steps``, or none where ``old`` has none; False where
    ``new`` has no container at the path to change."""
    step, rest = steps[0], steps[1:]
    if step == "*":
        if isinstance(new, dict):
            keys: list[str | int] = sorted({*new, *(old if isinstance(old, dict) else ())})
        elif isinstance(new, list):
            keys = list(range(len(new)))
        else:
            return False
    else:
        keys = [step]
    return all([_reset_key(old, new, key, rest) for key in keys])  # every key, no short cut


def _reset_key(old: Any, new: Any, key: str | int, rest: list[str | int]) -> bool:
    old_value = _get(old, key)
    if rest:
        new_value = _get(new, key)
        if new_value is _ABSENT:
            return old_value is _ABSENT  # neither side has it: nothing to ignore
        return _reset(old_value, new_value, rest)
    if isinstance(new, dict) and isinstance(key, str):
        if old_value is _ABSENT:
            new.pop(key, None)
        else:
            new[key] = copy.deepcopy(old_value)
        return True
    if isinstance(new, list) and _get(new, key) is not _ABSENT and old_value is not _ABSENT:
        new[key] = copy.deepcopy(old_value)
        return True
    return False
