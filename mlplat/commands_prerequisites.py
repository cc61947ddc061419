"""`mlplat prerequisites --stack <env>`: what the AWS account needs before the first `up`."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from mlplat.cli_options import StackOption, fail, json_option

MARKS = {True: "ok", False: "MISSING", None: "unknown"}


def prerequisites_command(
    stack: StackOption,
    backend_url: Annotated[
        str | None,
        typer.Option(help="The Pulumi state backend (default: $PULUMI_BACKEND_URL)."),
    ] = None,
    as_json: Annotated[bool, json_option("the checks")] = False,
) -> None:
    """Check the account: billing alerts, cost allocation tags, endpoint quotas, state bucket.

    Exit 0 when every check passes, 1 when one fails or cannot tell, 2 on bad input.
    """
    import boto3

    from infra.declarations import SpecError
    from infra.loader import load_environment, read_stack_config
    from mlplat.cli_output import Column, Rows, show, stdout
    from mlplat.prerequisites import check_account

    try:
        spec = load_environment(stack, read_stack_config(stack))
    except SpecError as error:
        raise fail(error.render()) from None
    session = boto3.Session()
    if session.get_credentials() is None:
        raise fail("no AWS credentials (configure a profile or SSO login)")
    findings = check_account(session, spec, backend_url or os.environ.get("PULUMI_BACKEND_URL"))
    if as_json:
        checks = [
            {"check": f.check, "ok": f.ok, "detail": f.detail, "command": f.command}
            for f in findings
        ]
        typer.echo(json.dumps({"stack": stack, "checks": checks}, indent=2))
    else:
        table = Rows(
            f"prerequisites for {stack}",
            (Column("check"), Column("status"), Column("detail"), Column("check by hand")),
        )
        for finding in findings:
            table.add(finding.check, MARKS[finding.ok], finding.detail, finding.command)
        show(stdout(), table)
    raise typer.Exit(0 if all(finding.ok for finding in findings) else 1)
