"""Which input changes make a provider replace a resource instead of updating it in place.

The table is data, `replace_on_changes.json` beside this module, one entry per resource type the
stacks create, each with the provider source it was read from: for AWS the bridged Terraform
schema (an attribute with ``ForceNew: true``, or a ``RequiresReplace`` plan modifier, makes
pulumi-aws replace the resource when it changes), for Kubernetes the provider's own list of
force-new fields. A path is a dotted input path (``spec.selector``); ``*`` means every input
but the tags (a type AWS cannot modify after creation, such as a SageMaker model).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("replace_on_changes.json")
EVERY_INPUT = "*"
# Every AWS type updates its tags in place (TagResource/UntagResource), immutable types included.
IN_PLACE = frozenset({"tags", "tagsAll"})


@dataclass(frozen=True)
class ReplaceRule:
    paths: tuple[str, ...]
    source: str


@cache
def rules() -> Mapping[str, ReplaceRule]:
    """The table's rule for each resource type it covers."""
    document = json.loads(TABLE.read_text())
    return {
        type_: ReplaceRule(tuple(entry["replace_on"]), entry["source"])
        for type_, entry in document["types"].items()
    }


@cache
def never_replaced() -> Mapping[str, str]:
    """Types the table does not judge, with the reason (providers, stack references)."""
    return dict(json.loads(TABLE.read_text())["not_judged"])


_ABSENT = object()


def _at(inputs: Mapping[str, Any], path: str) -> Any:
    value: Any = inputs
    for step in path.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return _ABSENT
        value = value[step]
    return value


def forcing_paths(type_: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    """The paths of ``type_``'s rule whose values differ between ``old`` and ``new`` inputs:
    empty when the change is an update in place (or the type has no rule)."""
    rule = rules().get(type_)
    if rule is None:
        return ()
    paths = rule.paths
    if EVERY_INPUT in paths:
        paths = tuple(k for k in old.keys() | new.keys() if k not in IN_PLACE)
    return tuple(sorted(p for p in paths if _at(old, p) != _at(new, p)))


def forced_by(type_: str, key: str) -> tuple[str, ...]:
    """The rule's paths at or under the top-level input ``key``: a new value there replaces."""
    rule = rules().get(type_)
    if rule is None:
        return ()
    if EVERY_INPUT in rule.paths and key not in IN_PLACE:
        return (key,)
    return tuple(p for p in rule.paths if p == key or p.startswith(f"{key}."))


def value_at(inputs: Mapping[str, Any], path: str) -> Any:
    """The input at a dotted ``path``, or None where there is none."""
    value = _at(inputs, path)
    return None if value is _ABSENT else value
