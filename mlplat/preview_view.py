"""Shows a captured graph to a person: the resource tree by component, counts by type, and what
a change creates, updates, replaces and deletes against a base export.

Counts are of every entry of the export, the stack and its providers included, so the preview's
total is the number the plan diff reports for the same export (created + updated + unchanged).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from infra.tagging import STACK_TYPE
from mlplat.cli_output import Column, Rows, show
from mlplat.plan_diff import Change, PlanDiff, mark


def _short_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def display_type(type_: str) -> str:
    """The type as `pulumi preview` shows it: ``aws:s3/bucket:Bucket`` -> ``aws:s3:Bucket`` (the
    module's last part is dropped where it only repeats the type's name), so it fits 80 columns."""
    parts = type_.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        module, _, last = parts[1].rpartition("/")
        if last.lower() == parts[2].lower():
            return f"{parts[0]}:{module}:{parts[2]}"
    return type_


def counts_by_type(document: dict[str, Any]) -> Counter[str]:
    return Counter(r["type"] for r in document["deployment"]["resources"])


def counts_to_json(document: dict[str, Any]) -> dict[str, Any]:
    counts = counts_by_type(document)
    return {"total": sum(counts.values()), "by_type": dict(sorted(counts.items()))}


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
    tree = Tree(f"[bold]{escape(_short_name(stack['urn']))}[/bold]")
    _add_children(tree, stack["urn"], children)
    if console.is_terminal:
        console.print(tree)
    else:  # plain indentation, no guide lines: greppable
        _print_plain(console, tree)

    counts = counts_by_type(document)
    table = Rows("Resources by type", (Column("type"), Column("count", "right")))
    for type_, count in sorted(counts.items()):
        table.add(display_type(type_), str(count))
    table.add(
        "total (the stack and providers included)",
        str(sum(counts.values())),
        bold=True,
        section=True,
    )
    show(console, table)


def _print_plain(console: Console, node: Tree, depth: int = 0) -> None:
    console.print("  " * depth + str(node.label), highlight=False, soft_wrap=True)
    for child in node.children:
        _print_plain(console, child, depth + 1)


def _add_children(node: Tree, urn: str, children: dict[str, list[dict]]) -> None:
    """Components become branches; a component's plain resources are summarised by type."""
    leaves: Counter[str] = Counter()
    for child in sorted(children.get(urn, []), key=lambda r: r["urn"]):
        if children.get(child["urn"]) or not child["custom"]:
            label = f"{display_type(child['type'])} {escape(_short_name(child['urn']))}"
            branch = node.add(f"[cyan]{label}[/cyan]")
            _add_children(branch, child["urn"], children)
        else:
            leaves[child["type"]] += 1
    for type_, count in sorted(leaves.items()):
        node.add(f"{display_type(type_)} × {count}" if count > 1 else display_type(type_))


def diff_to_json(plan: PlanDiff) -> dict[str, Any]:
    """Each change with the keys that differ; a replacement also with what forces it: the input
    paths (``replace_on``) and the replaced resources it references (``because``)."""
    return {
        "changes": [change.to_json() for change in plan.changes],
        "counts": {str(kind): plan.count(kind) for kind in Change},
        "unchanged": plan.unchanged,
        "total": plan.total,
    }


def render_diff(plan: PlanDiff, console: Console) -> None:
    if plan.changes:
        table = Rows(
            "Changes against the base export",
            (
                Column(""),
                Column("type"),
                Column("name"),
                Column("parent"),
                Column("differs in"),
                Column("why"),
            ),
        )
        for change in plan.changes:
            resource = change.resource
            table.add(
                f"{mark(change.kind)} {change.kind}",
                display_type(resource.type),
                escape(resource.name),
                escape(_short_name(resource.parent)) if resource.parent else "",
                ", ".join(change.keys),
                escape(change.why),
            )
        show(console, table)
    console.print(plan.summary(), highlight=False)
