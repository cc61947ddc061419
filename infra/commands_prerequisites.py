"""`mlplat prerequisites --stack <env>`: what the AWS account needs before the first `up`."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra.declarations import SpecError
from infra.loader import load_environment, read_stack_config

MARKS = {True: "ok", False: "MISSING", None: "unknown"}


def prerequisites_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="dev, staging or prod.")] = "dev",
    backend_url: Annotated[
        str | None,
        typer.Option(help="The Pulumi state backend (default: $PULUMI_BACKEND_URL)."),
    ] = None,
) -> None:
    """Check the account: billing alerts, cost allocation tags, endpoint quotas, state bucket.

    Exit 0 when every check passes, 1 when one fails or cannot tell, 2 on bad input.
    """
    import boto3

    from infra.prerequisites import check_account

    errors = Console(stderr=True)
    try:
        spec = load_environment(stack, read_stack_config(stack))
    except SpecError as error:
        errors.print(error.render(), markup=False)
        raise typer.Exit(2) from None
    session = boto3.Session()
    if session.get_credentials() is None:
        errors.print("error: no AWS credentials (configure a profile or SSO login)", markup=False)
        raise typer.Exit(2)
    findings = check_account(session, spec, backend_url or os.environ.get("PULUMI_BACKEND_URL"))
    table = Table(title=f"prerequisites for {stack}")
    for column in ("check", "status", "detail", "check by hand"):
        table.add_column(column, overflow="fold")
    for finding in findings:
        table.add_row(finding.check, MARKS[finding.ok], finding.detail, finding.command)
    Console().print(table)
    raise typer.Exit(0 if all(finding.ok for finding in findings) else 1)
