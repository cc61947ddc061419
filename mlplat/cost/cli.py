"""`mlplat cost` (price a stack or an export) and `mlplat prices refresh` (rebuild the snapshot)."""

from __future__ import annotations

import datetime as dt
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
    from cost_model.graph import Graph

SUPPORTED_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
SNAPSHOT_HELP = "infra/prices.json"  # the default, as the help shows it (no machine path)

prices_app = typer_app("The price snapshot the cost estimate reads.")


@prices_app.callback()
def prices() -> None:
    """The price snapshot the cost estimate reads (infra/prices.json)."""


def cost_command(
    stack: OptionalStackOption = None,
    file: Annotated[Path | None, existing_file("Price a `pulumi stack export` document.")] = None,
    against: Annotated[
        Path | None,
        existing_file("Show what the change costs against this base export (the base branch's)."),
    ] = None,
    as_json: Annotated[bool, json_option("the estimate")] = False,
    region: Annotated[
        str | None, typer.Option(help="Region for resources whose provider records none.")
    ] = None,
    spot_discount: Annotated[
        float, typer.Option(help="Saving against on-demand for spot nodes without a spot price.")
    ] = 0.6,
    prices: Annotated[
        Path | None,
        typer.Option(help=f"Price snapshot to read (default: {SNAPSHOT_HELP}).", dir_okay=False),
    ] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Date for EKS support tiers (default: today)."),
    ] = None,
) -> None:
    """Estimate the monthly cost (730 h) of a stack (previewed offline) or an export, and
    compare it with its budgets.

    Prints the cost by resource, totals by model, team and environment, and every model, team
    and environment budget with its status: within, at risk (over at maximum scale) or over.
    With --against, the resources and totals the change moves, from the base's cost to the new
    one.
    """
    from cost_model.budgets import check_budgets
    from cost_model.estimate import EstimateError, EstimateOptions, estimate
    from cost_model.graph import ExportError, Graph
    from cost_model.prices import DEFAULT_SNAPSHOT, SnapshotError, load_snapshot
    from mlplat.cost.compare import CostChange, replacements
    from mlplat.cost.report import change_to_json, print_report, to_json

    stack_or_file(stack, file)
    try:
        options = EstimateOptions(
            as_of=(as_of.date() if as_of else dt.date.today()),
            spot_discount=spot_discount,
            default_region=region,
        )
        snapshot = load_snapshot(prices or DEFAULT_SNAPSHOT)
        base = _base_of(against, stack) if against is not None else None
        base_estimate = None
        if base is not None:
            try:
                base_estimate = estimate(base, snapshot, options)
            except EstimateError as error:
                raise ValueError(f"--against {against}: {error}") from None
        graph = Graph.from_export(_document(stack, file))
        result = estimate(graph, snapshot, options)
    except (ExportError, SnapshotError, EstimateError, ValueError) as error:
        raise fail(str(error)) from None
    checks = check_budgets(graph, result)
    change = None
    if base is not None and base_estimate is not None:
        change = CostChange(base_estimate, result, *replacements(base, graph))
    if as_json:
        document = to_json(result, checks) if change is None else change_to_json(change, checks)
        typer.echo(json.dumps(document, indent=2))
    else:
        from mlplat.cli_output import stdout

        print_report(result, checks, stdout(), change)


def _base_of(base: Path, stack: str | None) -> Graph:
    """The base's graph; a ``stack`` that the change empties of models is refused first."""
    from cost_model.graph import ExportError, Graph, read_export
    from infra.declarations import SpecError
    from mlplat.plan_diff import refuse_emptying_against

    try:
        graph = Graph.from_export(read_export(base))
        if stack is not None:
            refuse_emptying_against(stack, graph, f"the base export {base}")
        return graph
    except ExportError as error:
        raise ValueError(f"--against {base}: {error}") from None
    except SpecError as error:
        raise ValueError(error.render()) from None


def _document(stack: str | None, file: Path | None) -> dict:
    if file is not None:
        from cost_model.graph import ExportError, read_export

        try:
            return read_export(file)
        except ExportError as error:
            raise ValueError(f"{file}: {error}") from None
    from infra.declarations import SpecError
    from mlplat.cli_output import progress

    try:
        with progress(f"previewing {stack}…"):
            from mlplat.offline import preview_stack

            return preview_stack(stack)
    except SpecError as error:
        raise ValueError(error.render()) from None


def _split(values: list[str] | None) -> list[str]:
    """Repeated options and comma-separated lists both work: --regions a,b --regions c."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


@prices_app.command("refresh")
def refresh_command(
    regions: Annotated[
        list[str] | None, typer.Option(help="Regions to price (repeat or comma-separate).")
    ] = None,
    instance_types: Annotated[
        list[str] | None,
        typer.Option(help="EC2 node instance types to price (default: those already in --out)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help=f"Snapshot to write (default: {SNAPSHOT_HELP}).", dir_okay=False),
    ] = None,
) -> None:
    """Rebuild the price snapshot from the AWS Price List API (needs AWS credentials)."""
    from cost_model.prices import DEFAULT_SNAPSHOT, dump_snapshot
    from mlplat.cost.refresh import RefreshError, paginated_fetch, pricing_client, refresh

    out = out or DEFAULT_SNAPSHOT
    wanted_regions = _split(regions) or list(SUPPORTED_REGIONS)
    types = _split(instance_types) or _known_ec2_types(out)
    try:
        snapshot = refresh(
            paginated_fetch(pricing_client()), wanted_regions, types, dt.date.today()
        )
    except RefreshError as error:
        raise fail(str(error)) from None
    dump_snapshot(snapshot, out)
    typer.echo(f"wrote {out}: {len(snapshot.regions)} regions, retrieved {snapshot.retrieved}")


def _known_ec2_types(path: Path) -> list[str]:
    from cost_model.prices import DEFAULT_SNAPSHOT, PriceLookupError, SnapshotError, load_snapshot

    try:
        snapshot = load_snapshot(path if path.exists() else DEFAULT_SNAPSHOT)
    except (SnapshotError, PriceLookupError):
        return []
    return sorted({t for region in snapshot.regions.values() for t in region.ec2_instance_hour})
