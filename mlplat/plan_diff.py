"""What a change does to a stack: its offline export compared with a base export, by URN.

The offline engine keeps no state, so a change is shown against a base: the export that
`mlplat preview --export` wrote for the base branch (CI can do this on every pull request).
A resource is created or deleted when its URN is on one side only, and updated when its inputs,
parent, provider, dependencies or resource options differ; the keys that differ are listed.
At each ``ignoreChanges`` path the new inputs keep the old value, as the engine keeps it. A change
to resource options alone (``option:protect``, ``option:dependencies``, ...) is listed as an update
too, though the engine may record it without calling the provider.

An update is a replacement when an input the provider cannot change in place differs (the table
in `mlplat.replacements`, read from each provider's schema) or one the ``replaceOnChanges`` option
names. A replacement gives the resource a new ID, ARN and auto-name, which the mocks cannot show
(they name a resource the same on both sides); so every resource whose inputs were built from
those (``propertyDependencies``) changes too: it is replaced where that input forces it, updated
otherwise (an endpoint moved to a new endpoint configuration), and listed with what caused it.

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
from mlplat.replacements import forced_by, forcing_paths, value_at


class DiffError(ValueError):
    """The exports cannot be compared meaningfully."""


class Change(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"


_MARKS = {
    Change.CREATE: "[green]+[/]",
    Change.UPDATE: "[yellow]~[/]",
    Change.REPLACE: "[magenta]+-[/]",
    Change.DELETE: "[red]-[/]",
}


def mark(kind: Change) -> str:
    """The sign a table shows for a change, in rich markup, as `pulumi preview` shows it:
    + create, ~ update, +- replace, - delete."""
    return _MARKS[kind]


@dataclass(frozen=True)
class ResourceChange:
    kind: Change
    resource: Resource
    # Inputs that differ by name; parent, provider, dependencies and options as "option:<name>".
    keys: tuple[str, ...] = ()
    # A replacement's cause: the input paths that force it ...
    replace_on: tuple[str, ...] = ()
    # ... and the replaced resources whose new identity changes this one's inputs.
    because: tuple[str, ...] = ()

    @property
    def urn(self) -> str:
        return self.resource.urn

    @property
    def why(self) -> str:
        """What makes the change a replacement, or an update of an unchanged declaration: the
        inputs that force a new resource, and the replaced resources whose new ID it takes."""
        reasons = []
        if self.replace_on:
            reasons.append(f"replaced: {', '.join(self.replace_on)} cannot change in place")
        if self.because:
            names = ", ".join(urn.rsplit("::", 1)[-1] for urn in self.because)
            reasons.append(f"references replaced {names}")
        return "; ".join(reasons)

    def to_json(self) -> dict[str, Any]:
        return {
            "change": str(self.kind),
            "urn": self.urn,
            "type": self.resource.type,
            "keys": list(self.keys),
            "replace_on": list(self.replace_on),
            "because": list(self.because),
        }


@dataclass(frozen=True)
class PlanDiff:
    changes: tuple[ResourceChange, ...]
    unchanged: int

    def count(self, kind: Change) -> int:
        return Counter(change.kind for change in self.changes)[kind]

    @property
    def total(self) -> int:
        """Resources in the new export: created, updated, replaced and unchanged. Like the
        preview's total, this counts every entry of the export, the stack and its providers
        included."""
        changed = self.count(Change.CREATE) + self.count(Change.UPDATE) + self.count(Change.REPLACE)
        return changed + self.unchanged

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
    kept: dict[str, ResourceChange] = {}
    for urn in before.keys() & after.keys():
        old, inputs = before[urn], _ignoring(before[urn], after[urn])
        keys = _differences(old, after[urn], inputs)
        if keys:
            forced = forcing_paths(old.type, old.inputs, inputs)
            forced += _option_forced(after[urn], keys)
            kind = Change.REPLACE if forced else Change.UPDATE
            kept[urn] = ResourceChange(kind, after[urn], keys, tuple(sorted(set(forced))))
    _cascade(before, after, kept)
    changes += kept.values()
    order = list(Change)
    changes.sort(key=lambda change: (order.index(change.kind), change.urn))
    unchanged = len(before.keys() & after.keys()) - len(kept)
    return PlanDiff(tuple(changes), unchanged)


def _option_forced(resource: Resource, keys: tuple[str, ...]) -> tuple[str, ...]:
    """The ``replaceOnChanges`` paths among the changed ``keys`` (``*``: any input)."""
    inputs = [key for key in keys if not key.startswith("option:")]
    forced = []
    for path in resource.options.get("replaceOnChanges") or ():
        try:
            first = _steps(path)[0]
        except ValueError as error:
            raise DiffError(f"{resource.urn}: replaceOnChanges {path!r}: {error}") from None
        if first in inputs or (first == "*" and inputs):
            forced.append(path)
    return tuple(forced)


def _cascade(
    before: Mapping[str, Resource], after: Mapping[str, Resource], kept: dict[str, ResourceChange]
) -> None:
    """Add to ``kept`` the resources whose inputs hold a replaced resource's ID, ARN or auto-name:
    the replacement gives those new values (the engine shows them unknown until it runs), so the
    holder is updated, or replaced where that input forces it, and so on down the graph."""
    holders: dict[str, list[tuple[str, str]]] = {}
    for urn in before.keys() & after.keys():
        for key, sources in after[urn].property_dependencies.items():
            for source in sources:
                holders.setdefault(source, []).append((urn, key))
    pending = [urn for urn, change in kept.items() if change.kind is Change.REPLACE]
    while pending:
        replaced = before[pending.pop()]
        renewed = _renewed(replaced)
        for urn, key in holders.get(replaced.urn, ()):
            holder = after[urn]
            if not renewed or not _mentions(holder.inputs.get(key), renewed):
                continue
            forced = [
                path
                for path in forced_by(holder.type, key)
                if _mentions(value_at(holder.inputs, path), renewed)
            ]
            forced += _option_forced(holder, (key,))
            change = _merge(kept.get(urn), holder, key, forced, replaced.urn)
            # Newly replaced (whatever is pending is a replacement already): its holders next.
            if change.kind is Change.REPLACE and (
                urn not in kept or kept[urn].kind is not Change.REPLACE
            ):
                pending.append(urn)
            kept[urn] = change


def _merge(
    change: ResourceChange | None, resource: Resource, key: str, forced: list[str], cause: str
) -> ResourceChange:
    keys = set(change.keys if change else ()) | {key}
    replace_on = set(change.replace_on if change else ()) | set(forced)
    because = set(change.because if change else ()) | {cause}
    return ResourceChange(
        Change.REPLACE if replace_on else Change.UPDATE,
        resource,
        tuple(sorted(keys, key=lambda k: (k.startswith("option:"), k))),
        tuple(sorted(replace_on)),
        tuple(sorted(because)),
    )


def _renewed(resource: Resource) -> set[str]:
    """The values a replacement gives anew: the ID (an auto-name, often), and so every output
    built from it (an ARN, a domain name: `_mentions` finds the ID inside them), unless the ID is
    an input (an explicit name, which the replacement keeps); an ARN not built from the ID is new
    in any case."""
    kept = resource.id in _strings(resource.inputs)
    renewed = {resource.id} if resource.id and not kept else set()
    arn = resource.outputs.get("arn")
    if isinstance(arn, str) and not (kept and resource.id in arn):
        renewed.add(arn)
    return renewed


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


# Shorter values are matched whole only: a short ID inside a longer string is a coincidence.
_SUBSTRING_MIN = 8


def _mentions(value: Any, renewed: set[str]) -> bool:
    """Whether ``value`` holds one of ``renewed``, whole or inside a string (a policy's ARN)."""
    return any(
        text == r or (len(r) >= _SUBSTRING_MIN and r in text)
        for text in _strings(value)
        for r in renewed
    )


def _differences(old: Resource, new: Resource, after: Mapping[str, Any]) -> tuple[str, ...]:
    before = old.inputs
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
