"""`mlplat policy check`: run the guardrail pack over a stack's offline preview or an export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlplat.cli_options import (
    OptionalStackOption,
    existing_file,
    fail,
    json_option,
    stack_or_file,
    typer_app,
)

if TYPE_CHECKING:
    from mlplat.policy_check import Violation

policy_app = typer_app("Guardrail policies (the CrossGuard pack in policies/).")


@policy_app.callback()
def policy() -> None:
    """Guardrail policies: the CrossGuard pack in policies/, run offline."""


_LEVEL_STYLE = {"mandatory": "bold red", "advisory": "yellow", "remediate": "magenta"}


@policy_app.command("check")
def check_command(
    stack: OptionalStackOption = None,
    file: Annotated[Path | None, existing_file("Check a `pulumi stack export` document.")] = None,
    config: Annotated[
        Path | None,
        existing_file("Pack config JSON, as for `pulumi preview --policy-pack-config`."),
    ] = None,
    as_json: Annotated[bool, json_option('the violations ({"violations": [...]})')] = False,
) -> None:
    """Check a stack (previewed offline) or an export against the guardrails; exit 1 when any
    violation is mandatory."""
    from infra.declarations import SpecError
    from mlplat.policy_check import (
        ExportError,
        PolicyConfigError,
        check,
        has_mandatory,
        load_export,
    )
    from model_packages.packaging import PackagingError

    stack_or_file(stack, file)
    try:
        if file is not None:
            document = load_export(file)
        else:
            from mlplat.cli_output import progress

            with progress(f"previewing {stack}…"):
                from mlplat.offline import preview_stack

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
        raise fail(error.render() if isinstance(error, SpecError) else str(error)) from None
    if as_json:
        typer.echo(json.dumps({"violations": [v.to_json() for v in violations]}, indent=2))
    else:
        _print_table(violations, stack or str(file))
    raise typer.Exit(1 if has_mandatory(violations) else 0)


def _print_table(violations: list[Violation], subject: str) -> None:
    from rich.markup import escape

    from mlplat.cli_output import Column, Rows, show, stdout

    console = stdout()
    if not violations:
        console.print(f"[green]No policy violations[/green] in {escape(subject)}.")
        return
    table = Rows(
        f"Policy violations in {subject}",
        (
            Column("enforcement"),
            Column("severity"),
            Column("policy"),
            Column("resource"),
            Column("message"),
        ),
    )
    order = {"mandatory": 0, "remediate": 1, "advisory": 2}
    for v in sorted(violations, key=lambda v: (order.get(v.enforcement, 3), v.policy, v.urn)):
        style = _LEVEL_STYLE.get(v.enforcement, "")
        # "<Type> <name>" from urn:pulumi:<stack>::<project>::<parent$...$type>::<name>
        _, _, qualified_type, name = v.urn.split("::", 3) if v.urn.count("::") >= 3 else ("",) * 4
        resource = f"{qualified_type.rsplit(':', 1)[-1]} {name}".strip() or v.urn
        table.add(
            f"[{style}]{v.enforcement}[/]" if style else v.enforcement,
            v.severity,
            v.policy,
            escape(resource),
            escape(v.message),
        )
    show(console, table)
    mandatory = sum(v.mandatory for v in violations)
    console.print(f"{len(violations)} violation(s), {mandatory} mandatory.")
