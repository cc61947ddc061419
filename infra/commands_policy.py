"""`mlplat policy check`: run the guardrail pack over a stack's offline preview or an export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra.cli_options import existing_file
from infra.declarations import SpecError
from infra.policy_check import (
    ExportError,
    PolicyConfigError,
    Violation,
    check,
    has_mandatory,
    load_export,
)
from model_packages.packaging import PackagingError

policy_app = typer.Typer(
    help="Guardrail policies (the CrossGuard pack in policies/).", no_args_is_help=True
)


@policy_app.callback()
def policy() -> None:
    """Guardrail policies: the CrossGuard pack in policies/, run offline."""


_LEVEL_STYLE = {"mandatory": "bold red", "advisory": "yellow", "remediate": "magenta"}


@policy_app.command("check")
def check_command(
    stack: Annotated[
        str | None, typer.Option(help="Preview this stack offline, then check it.")
    ] = None,
    file: Annotated[Path | None, existing_file("Check a `pulumi stack export` document.")] = None,
    config: Annotated[
        Path | None,
        existing_file("Pack config JSON, as for `pulumi preview --policy-pack-config`."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"violations": [...]}.')] = False,
) -> None:
    """Check a stack against the guardrails; exit 1 when any violation is mandatory."""
    if (stack is None) == (file is None):
        raise typer.BadParameter("give exactly one of --stack or --file")
    try:
        if file is not None:
            document = load_export(file)
        else:
            from infra.offline import preview_stack

            document = preview_stack(stack)
        pack_config = json.loads(config.read_text()) if config else None
        violations = check(document, config=pack_config)
    except (
        ExportError,
        PolicyConfigError,
        json.JSONDecodeError,
        SpecError,
        PackagingError,
    ) as error:
        message = error.render() if isinstance(error, SpecError) else str(error)
        Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({"violations": [v.to_json() for v in violations]}, indent=2))
    else:
        _print_table(violations, stack or str(file))
    raise typer.Exit(1 if has_mandatory(violations) else 0)


def _print_table(violations: list[Violation], subject: str) -> None:
    console = Console()
    if not violations:
        console.print(f"[green]No policy violations[/green] in {subject}.")
        return
    table = Table(title=f"Policy violations in {subject}", show_lines=False)
    for column in ("enforcement", "severity", "policy"):
        table.add_column(column, no_wrap=True)
    table.add_column("resource", overflow="fold")
    table.add_column("message", overflow="fold")
    order = {"mandatory": 0, "remediate": 1, "advisory": 2}
    for v in sorted(violations, key=lambda v: (order.get(v.enforcement, 3), v.policy, v.urn)):
        style = _LEVEL_STYLE.get(v.enforcement, "")
        # "<Type> <name>" from urn:pulumi:<stack>::<project>::<parent$...$type>::<name>
        _, _, qualified_type, name = v.urn.split("::", 3) if v.urn.count("::") >= 3 else ("",) * 4
        resource = f"{qualified_type.rsplit(':', 1)[-1]} {name}".strip() or v.urn
        table.add_row(
            f"[{style}]{v.enforcement}[/]" if style else v.enforcement,
            v.severity,
            v.policy,
            resource,
            v.message,
        )
    console.print(table)
    mandatory = sum(v.mandatory for v in violations)
    console.print(f"{len(violations)} violation(s), {mandatory} mandatory.")
