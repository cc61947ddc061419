"""Shows a captured graph to a person: the resource tree by component, counts by type, and what
a change creates, updates and deletes against a base export."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from infra.plan_diff import PlanDiff, mark
from infra.tagging import STACK_TYPE


def _short_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def render(document: dict[str, Any], console: Console) -> None:
    resources = [
        r
        for r in document["deployment"]["resources"]
        if not r["type"].startswith("pulumi:providers:")
    ]
    children: dict[str, list[dict]] = defaultdict(list)
    for resource in resources:
        children[resource.get("parent", "")].append(resource)
    stack = next(r for r in resources if r["type"] == STACK_TYPE)
    tree = Tree(f"[bold]{_short_name(stack['urn'])}[/bold]")
    _add_children(tree, stack["urn"], children)
    console.print(tree)

    counts = Counter(r["type"] for r in resources if r["type"] != STACK_TYPE)
    table = Table(title="Resources by type")
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_, count in sorted(counts.items()):
        table.add_row(type_, str(count))
    table.add_row("[bold]total[/bold]", f"[bold]{sum(counts.values())}[/bold]")
    console.print(table)


def _add_children(node: Tree, urn: str, children: dict[str, list[dict]]) -> None:
    """Components become branches; a component's plain resources are summarised by type."""
    leaves: Counter[str] = Counter()
    for child in sorted(children.get(urn, []), key=lambda r: r["urn"]):
        if children.get(child["urn"]) or not child["custom"]:
            branch = node.add(f"[cyan]{child['type']}[/cyan] {_short_name(child['urn'])}")
            _add_children(branch, child["urn"], children)
        else:
            leaves[child["type"]] += 1
    for type_, count in sorted(leaves.items()):
        node.add(f"{type_} × {count}" if count > 1 else type_)


def render_diff(plan: PlanDiff, console: Console) -> None:
    if plan.changes:
        table = Table(title="Changes against the base export")
        table.add_column("")
        for column in ("type", "name", "parent"):
            table.add_column(column, overflow="fold")
        table.add_column("differs in", overflow="fold", ratio=1)
        for change in plan.changes:
            resource = change.resource
            table.add_row(
                mark(change.kind),
                resource.type,
                resource.name,
                _short_name(resource.parent) if resource.parent else "",
                ", ".join(change.keys),
            )
        console.print(table)
    console.print(plan.summary())
