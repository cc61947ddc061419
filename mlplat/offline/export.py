"""The captured graph in the shape of `pulumi stack export` (version 3), in a fixed order."""

from __future__ import annotations

import heapq
import json
from pathlib import Path
from typing import Any

from infra.tagging import STACK_TYPE
from mlplat.offline import GENERATOR
from mlplat.offline.engine import Capture
from mlplat.offline.monitor import Registration

# A fixed manifest time keeps exports byte-identical across runs; the real one records `pulumi up`.
MANIFEST_TIME = "1970-01-01T00:00:00Z"


def to_document(capture: Capture) -> dict[str, Any]:
    return {
        "version": 3,
        "deployment": {
            "manifest": {
                "time": MANIFEST_TIME,
                "magic": "",
                "version": f"v{capture.sdk_version}",
                "generator": GENERATOR,
            },
            "resources": [_resource(r) for r in topological(capture.registrations)],
        },
    }


def _resource(r: Registration) -> dict[str, Any]:
    entry: dict[str, Any] = {"urn": r.urn, "custom": r.custom}
    if r.custom:
        entry["id"] = r.id
    entry |= {"type": r.type, "inputs": r.inputs, "outputs": r.outputs}
    if r.parent:
        entry["parent"] = r.parent
    entry |= {
        "protect": r.protect,
        "dependencies": r.dependencies,
        "propertyDependencies": r.property_dependencies,
    }
    if r.provider:
        entry["provider"] = r.provider
    if r.external:
        entry["external"] = True
    entry |= {
        "ignoreChanges": r.ignore_changes,
        "replaceOnChanges": r.replace_on_changes,
        "retainOnDelete": r.retain_on_delete,
        "deleteBeforeReplace": r.delete_before_replace,
        "aliases": r.aliases,
    }
    return entry


def topological(registrations: list[Registration]) -> list[Registration]:
    """Parents, providers and dependencies before dependents (as the engine stores state); the
    stack first, then ties by URN. Registration order depends on thread scheduling: not used.
    """
    by_urn = {r.urn: r for r in registrations}
    needs: dict[str, set[str]] = {}
    for r in registrations:
        prerequisites = {r.parent, r.provider.rsplit("::", 1)[0], *r.dependencies}
        needs[r.urn] = {urn for urn in prerequisites if urn in by_urn and urn != r.urn}
    dependents: dict[str, list[str]] = {urn: [] for urn in by_urn}
    for urn, prerequisites in needs.items():
        for prerequisite in prerequisites:
            dependents[prerequisite].append(urn)

    def key(urn: str) -> tuple[bool, str]:
        return (by_urn[urn].type != STACK_TYPE, urn)

    ready = [key(urn) for urn, prerequisites in needs.items() if not prerequisites]
    heapq.heapify(ready)
    ordered: list[Registration] = []
    while ready:
        _, urn = heapq.heappop(ready)
        ordered.append(by_urn[urn])
        for dependent in dependents[urn]:
            needs[dependent].discard(urn)
            if not needs[dependent]:
                heapq.heappush(ready, key(dependent))
    if len(ordered) != len(registrations):
        raise ValueError("dependency cycle in the captured graph")
    return ordered


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(document: dict[str, Any], path: Path) -> None:
    path.write_text(dumps(document))
