"""The pull request's change report, per layered stack: what each stack a change touches creates,
updates, replaces and deletes, and what it costs per month, against the base revision's exports.

    python -m mlplat.change_report <env> <base-dir> <dir>    Markdown on stdout

Each folder holds one offline export per layered stack (``python -m mlplat.touched export``);
a stack missing from the base is new. Per touched stack, the report reads the same JSON that
``mlplat preview --against`` and ``mlplat cost --against`` print (``diff_to_json``,
``change_to_json``), so the report and the commands cannot disagree, replacements included (the
provider's force-new inputs, ``mlplat/replace_on_changes.json``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cost_model.budgets import check_budgets
from cost_model.estimate import EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import PriceSnapshot, load_snapshot
from mlplat.cost.compare import CostChange, replacements
from mlplat.cost.report import change_to_json
from mlplat.plan_diff import diff
from mlplat.preview_view import diff_to_json
from mlplat.touched import touched_stacks

_EMPTY = {"version": 3, "deployment": {"manifest": {}, "resources": []}}


@dataclass(frozen=True)
class StackReport:
    stack: str
    new: bool  # no export on the base side
    preview: dict[str, Any]  # `mlplat preview --against --json`
    cost: dict[str, Any]  # `mlplat cost --against --json`


def stack_report(
    stack: str,
    base: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    snapshot: PriceSnapshot,
    options: EstimateOptions,
) -> StackReport:
    """One stack's preview and cost JSON against its base export (an empty base when none)."""
    before = Graph.from_export(base if base is not None else _empty_like(new))
    after = Graph.from_export(new)
    after_estimate = estimate(after, snapshot, options)
    change = CostChange(
        estimate(before, snapshot, options), after_estimate, *replacements(before, after)
    )
    return StackReport(
        stack=stack,
        new=base is None,
        preview=diff_to_json(diff(before, after)),
        cost=change_to_json(change, check_budgets(after, after_estimate)),
    )


def _empty_like(document: Mapping[str, Any]) -> dict[str, Any]:
    """A base with no resources, written by the same generator (what a new stack is compared to)."""
    return {**_EMPTY, "deployment": {**_EMPTY["deployment"], **_manifest(document)}}


def _manifest(document: Mapping[str, Any]) -> dict[str, Any]:
    return {"manifest": dict(document["deployment"].get("manifest", {}))}


def reports(
    base: Mapping[str, Any],
    new: Mapping[str, Any],
    snapshot: PriceSnapshot,
    options: EstimateOptions,
) -> list[StackReport]:
    """A report for each stack the change touches, in deployment order (platform first). A stack
    that the change removes is reported against an empty new side."""
    return [
        stack_report(
            stack,
            base.get(stack),
            new[stack] if stack in new else _empty_like(base[stack]),
            snapshot,
            options,
        )
        for stack in touched_stacks(base, new)
    ]


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}${abs(value):,.2f}"


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def render(environment: str, stacks: list[str], found: list[StackReport]) -> str:
    """Markdown: a table of the touched stacks, then each stack's changes and cost lines."""
    touched = {r.stack for r in found}
    lines = [f"## {environment}: layered stacks", ""]
    if not found:
        return "\n".join([*lines, "No stack changes.", ""])
    unchanged = [s for s in stacks if s not in touched]
    lines += [
        f"{len(found)} of {len(touched | set(stacks))} stacks change"
        + (f"; unchanged: {', '.join(f'`{s}`' for s in unchanged)}." if unchanged else "."),
        "",
        "| stack | create | update | replace | delete | monthly cost, base → change | difference |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for report in found:
        counts, cost = report.preview["counts"], report.cost
        label = f"`{report.stack}`" + (" (new)" if report.new else "")
        lines.append(
            f"| {label} | {counts['create']} | {counts['update']} | {counts['replace']} | "
            f"{counts['delete']} | "
            f"{_money(cost['base_total_monthly'])} → {_money(cost['total_monthly'])} | "
            f"{_signed(cost['delta_monthly'])} |"
        )
    total = sum(r.cost["delta_monthly"] for r in found)
    lines += [
        f"| **all touched stacks** | | | | | | **{_signed(total)}** |",
        "",
    ]
    for report in found:
        lines += _details(report)
    return "\n".join(lines)


def _details(report: StackReport) -> list[str]:
    changes = report.preview["changes"]
    priced = [r for r in report.cost["resources"] if r["delta"] != 0]
    lines = [
        f"<details><summary><code>{report.stack}</code>: {len(changes)} changes</summary>",
        "",
        "| change | type | name | differs in | replaced because of |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {c['change']} | `{c['type']}` | `{_name(c['urn'])}` | {', '.join(c['keys'])} | "
        f"{_why(c)} |"
        for c in changes
    ]
    if priced:
        lines += ["", "| cost line | base | change | difference |", "|---|--:|--:|--:|"]
        lines += [
            f"| `{_name(r['urn'])}` | {_money(r['base'])} | {_money(r['new'])} | "
            f"{_signed(r['delta'])} |"
            for r in priced
        ]
    over = [b for b in report.cost["budgets"] if b["status"] != "within"]
    if over:
        lines += ["", "Budgets: " + "; ".join(f"{b['subject']} {b['status']}" for b in over) + "."]
    return [*lines, "", "</details>", ""]


def _why(change: Mapping[str, Any]) -> str:
    """A replacement's cause: the force-new inputs that differ, and the replaced resources whose
    new ID or name it takes."""
    causes = [f"`{path}`" for path in change.get("replace_on", [])]
    causes += [f"replaced `{_name(urn)}`" for urn in change.get("because", [])]
    return ", ".join(causes)


def _read(folder: Path) -> dict[str, Any]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    from infra.layers import environment_of

    environment, base, new = argv[0], _read(Path(argv[1])), _read(Path(argv[2]))
    stacks = sorted(s for s in new.keys() | base.keys() if environment_of(s) == environment)
    options = EstimateOptions(as_of=dt.date.today())  # as `mlplat cost` prices by default
    found = reports(base, new, load_snapshot(), options)
    print(render(environment, stacks, found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
