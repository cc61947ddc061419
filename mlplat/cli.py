"""`mlplat`: preview, check, price and deploy the platform's stacks.

Only typer is imported here: each command imports what it needs (Pulumi, the AWS provider, the
SageMaker SDK, MLflow) when it runs, so `mlplat --help` answers at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlplat.cli_options import StackOption, existing_file, fail, json_option, typer_app
from mlplat.commands_batch import batch_app
from mlplat.commands_models import models_app
from mlplat.commands_policy import policy_app
from mlplat.commands_prerequisites import prerequisites_command
from mlplat.cost.cli import cost_command, prices_app

app = typer_app("mlplat: a multi-model ML serving platform on AWS, as Pulumi code.")
app.add_typer(policy_app, name="policy")
app.add_typer(prices_app, name="prices")
app.add_typer(models_app, name="models")
app.add_typer(batch_app, name="batch")
app.command("cost")(cost_command)
app.command("prerequisites")(prerequisites_command)


@app.command()
def preview(
    stack: StackOption,
    export: Annotated[
        Path | None,
        typer.Option(help="Write the graph as a `pulumi stack export` (v3) document."),
    ] = None,
    against: Annotated[
        Path | None,
        existing_file("Show only what differs from this base export (`preview --export` of it)."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Do not print the resource tree.")
    ] = False,
    as_json: Annotated[bool, json_option("the counts by type, or the changes")] = False,
) -> None:
    """Run the program offline on Pulumi's mock monitor and show what the stack would create."""
    from mlplat.cli_output import progress, stdout

    with progress(f"previewing {stack}…"):  # the first run also compiles the SDKs' bytecode
        from cost_model.graph import ExportError, Graph, read_export
        from infra.declarations import SpecError
        from infra.lock_status import stale_lock_warning
        from mlplat.offline import preview_stack
        from mlplat.offline.export import write
        from mlplat.plan_diff import DiffError, diff, refuse_emptying_against
        from mlplat.preview_view import counts_to_json, diff_to_json, render, render_diff
        from model_packages.packaging import PackagingError

    try:
        base = Graph.from_export(read_export(against)) if against is not None else None
        if base is not None:  # before previewing: an emptied stack is refused, not shown
            refuse_emptying_against(stack, base, f"the base export {against}")
        with progress(f"previewing {stack}…"):
            document = preview_stack(stack)
            stale = stale_lock_warning(stack)
        plan = diff(base, Graph.from_export(document)) if base is not None else None
    except SpecError as error:
        raise fail(error.render()) from None
    except PackagingError as error:  # e.g. a registry version that does not exist
        raise fail(f"cannot package a model: {error}") from None
    except (ExportError, DiffError) as error:
        raise fail(f"--against {against}: {error}") from None
    if stale:
        typer.echo(f"warning: {stale}", err=True)
    if as_json:
        data = diff_to_json(plan) if plan is not None else counts_to_json(document)
        typer.echo(json.dumps(data, indent=2))
    elif plan is not None:
        render_diff(plan, stdout())
    elif not quiet:
        render(document, stdout())
    if export is not None:
        write(document, export)
        typer.echo(f"wrote {export}", err=True)  # a status line, kept out of what stdout reports


def _deploy(stack: str, destroy: bool) -> None:
    from pulumi.automation.errors import CommandError

    from infra.declarations import SpecError
    from mlplat.deploy import DeployUnavailable, run

    try:
        changes = run(stack, destroy=destroy)
    except SpecError as error:
        raise fail(error.render()) from None
    except DeployUnavailable as error:
        raise fail(str(error)) from None
    except CommandError as error:  # the engine ran and failed; its own output was streamed
        raise fail(f"pulumi {'destroy' if destroy else 'up'} failed: {error}", code=1) from None
    typer.echo(f"{'destroy' if destroy else 'up'} finished: {changes}")


@app.command()
def up(stack: StackOption) -> None:
    """Deploy the stack for real, guardrails enforced (needs the Pulumi CLI, a backend, AWS)."""
    _deploy(stack, destroy=False)


@app.command()
def destroy(stack: StackOption) -> None:
    """Destroy the stack's resources (prod's stateful resources are protected and retained)."""
    _deploy(stack, destroy=True)


if __name__ == "__main__":
    app()
