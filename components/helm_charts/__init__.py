"""The values every Helm chart the platform installs reads, at the pinned chart version, and the
check that the values we give a release are values the chart reads.

Helm passes any values key to the templates and says nothing when no template reads it, so a
misspelt key, or one a newer chart renamed, silently drops our setting. ``<chart>.json`` is the
chart's ``values.yaml`` at the pinned version reduced to its keys and the kind of each default
(``kind_tree``); ``sources.json`` records where that file is (repository, tag, commit, path,
sha256) and the chart version it belongs to. A test holds those versions to the code's pins, so
a chart bumped without rebuilding its tree fails.

The rule (``value_problems``), for every key path we set, against the chart's defaults:

- below a map with defaults, a key must be one of the map's keys: the chart documents what it
  reads by giving it a default;
- below an empty map (``{}``), ``null``, or a list, anything goes: the chart takes the node as a
  whole (``nodeSelector``, ``annotations``, ``tolerations``) or documents no shape for it;
- a non-empty map the chart ranges over as a whole (cluster-autoscaler's ``extraArgs``: each key
  becomes a flag) is listed as ``freeForm`` in ``sources.json``, with the template that says so;
- a value a template reads but ``values.yaml`` leaves out (kube-state-metrics'
  ``fullnameOverride``) is listed as ``readByTemplates``, with the template;
- never below a scalar default (a map where the chart expects a string is not read);
- where the default is a scalar, our value has its kind (a string for a string, a boolean for
  a boolean, a number for a number); where it is a map or a list, ours is a map or a list too.
  A ``null`` default says nothing about kind; a ``null`` of ours removes the default (Helm).

A chart's own ``values.schema.json``, which Helm applies to the merged values on install, ships
with none of the pinned versions (``valuesSchema``: null, checked at each tag).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
MANIFEST = HERE / "sources.json"
SCALARS = ("string", "number", "boolean")


@dataclass(frozen=True)
class ChartValues:
    name: str
    version: str
    defaults: Mapping[str, Any]  # the kind tree
    free_form: frozenset[str]  # dotted paths whose keys the chart does not fix
    read_by_templates: frozenset[str]  # dotted paths a template reads, with no default


def manifest(folder: Path = HERE) -> dict[str, dict[str, Any]]:
    return json.loads((folder / MANIFEST.name).read_text())["charts"]


@cache
def chart_values(chart: str, folder: Path = HERE) -> ChartValues:
    entry = manifest(folder)[chart]
    return ChartValues(
        name=chart,
        version=entry["version"],
        defaults=json.loads((folder / f"{chart}.json").read_text()),
        free_form=frozenset(entry.get("freeForm", {})),
        read_by_templates=frozenset(entry.get("readByTemplates", {})),
    )


def kind_tree(defaults: Any) -> Any:
    """A chart's parsed ``values.yaml`` as its keys and the kind of each default: what
    ``<chart>.json`` holds (maps stay maps, ``{}`` and ``null`` stay as they are)."""
    if isinstance(defaults, Mapping):
        return {str(key): kind_tree(value) for key, value in defaults.items()}
    return None if defaults is None else _kind(defaults)


def value_problems(chart: ChartValues, version: str, values: Mapping[str, Any]) -> list[str]:
    """What in ``values`` the chart at ``version`` would not read, one line per problem."""
    if version != chart.version:
        return [f"{chart.name} {version}: values known for {chart.version} only; rebuild its tree"]
    return _walk(chart, values, chart.defaults, ())


def _walk(chart: ChartValues, ours: Any, default: Any, path: tuple[str, ...]) -> list[str]:
    where = f"{chart.name} {chart.version}: {'.'.join(path)}"
    if default is None or ours is None:  # ours: Helm's way to remove a default
        return []
    expected = "map" if isinstance(default, Mapping) else default
    if _kind(ours) != expected:
        return [f"{where}: the chart's default is a {expected}, ours is a {_kind(ours)}"]
    if expected != "map" or not default or ".".join(path) in chart.free_form:
        return []
    return [
        problem
        for key, value in ours.items()
        for problem in (
            _walk(chart, value, default[key], (*path, key))
            if key in default
            else _unread(chart, (*path, key))
        )
    ]


def _unread(chart: ChartValues, path: tuple[str, ...]) -> list[str]:
    dotted = ".".join(path)
    if dotted in chart.read_by_templates:
        return []
    return [f"{chart.name} {chart.version}: {dotted}: not a value of the chart"]


def _kind(value: Any) -> str:
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, list | tuple):
        return "list"
    raise TypeError(f"{type(value).__name__} is not a Helm value")
