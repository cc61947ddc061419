"""`mlplat models list|package|place`: the models a stack serves, their archives and placement."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from mlplat.cli_options import StackOption, fail, json_option, typer_app

if TYPE_CHECKING:
    from infra.declarations import EnvironmentSpec

models_app = typer_app("Models: where they are served, and their archives.")


@models_app.callback()
def models() -> None:
    """Models declared in a stack: placement on endpoints, and MLflow -> .tar.gz packaging."""


def _spec(stack: str) -> EnvironmentSpec:
    from mlplat.cli_output import progress

    with progress(f"loading {stack}…"):
        from infra.declarations import SpecError
        from infra.loader import load_environment, read_stack_config

        try:
            return load_environment(stack, read_stack_config(stack))
        except SpecError as error:
            raise fail(error.render()) from None


@models_app.command("list")
def list_command(
    stack: StackOption,
    as_json: Annotated[bool, json_option("the models")] = False,
) -> None:
    """Every model of the stack: team, framework, where it is served and its TargetModel."""
    from components.serving.placement import plan_endpoints
    from mlplat.cli_output import Column, Rows, show, stdout

    spec = _spec(stack)
    endpoint_of = {m.name: plan.endpoint_name for plan in plan_endpoints(spec) for m in plan.models}
    records = [
        {
            "model": model.name,
            "version": model.version,
            "team": model.team,
            "framework": model.framework,
            "serving": model.serving.value,
            "endpoint": endpoint_of.get(model.name),
            "target_model": f"{model.name}-v{model.version}.tar.gz"
            if model.name in endpoint_of
            else None,
            "monthly_budget_usd": float(model.monthly_budget_usd),
        }
        for model in sorted(spec.models, key=lambda m: m.name)
    ]
    if as_json:
        typer.echo(json.dumps({"stack": stack, "models": records}, indent=2))
        return
    # The target model is <model>-v<version>.tar.gz: shown in --json, implied by the table.
    table = Rows(
        f"models in {stack}",
        (
            Column("model"),
            Column("v", "right"),
            Column("team"),
            Column("framework"),
            Column("endpoint (EKS: none)"),
        ),
    )
    for record in records:
        table.add(
            record["model"],
            str(record["version"]),
            record["team"],
            record["framework"],
            record["endpoint"] or "EKS",
        )
    show(stdout(), table)


@models_app.command("package")
def package_command(
    stack: StackOption,
    model: Annotated[list[str] | None, typer.Option(help="Only these models (repeatable).")] = None,
    as_json: Annotated[bool, json_option("the archives")] = False,
) -> None:
    """Build (or reuse from the cache) the archive of each model: endpoint- or EKS-served."""
    from components.serving.artifacts import layout_for
    from components.serving.placement import plan_endpoints
    from infra.project import PROJECT_ROOT
    from mlplat.cli_output import Column, Rows, progress, show, stdout
    from model_packages.packaging import Layout, PackagingError, package_model

    spec = _spec(stack)
    layouts = {m.name: layout_for(plan) for plan in plan_endpoints(spec) for m in plan.models}
    wanted = set(model or ())
    built, failed = [], False
    for declared in sorted(spec.models, key=lambda m: m.name):
        if wanted and declared.name not in wanted:
            continue
        try:
            with progress(f"packaging {declared.name}…"):
                package = package_model(
                    declared.name,
                    declared.version,
                    declared.artifact,
                    layout=layouts.get(declared.name, Layout.FRAMEWORK),  # EKS: framework image
                )
        except PackagingError as error:
            fail(f"model {declared.name!r}: {error}")
            failed = True
            continue
        path = package.path
        if path.is_relative_to(PROJECT_ROOT):
            path = path.relative_to(PROJECT_ROOT)
        built.append({"archive": package.archive_name, "sha256": package.sha256, "path": str(path)})
    if as_json:
        typer.echo(json.dumps({"stack": stack, "archives": built}, indent=2))
    else:
        # One field per line for the long values: a digest or a path never wraps mid-name.
        table = Rows(f"archives of {stack}", (Column("archive"), Column("sha256"), Column("path")))
        for entry in built:
            table.add(entry["archive"], entry["sha256"], entry["path"])
        show(stdout(), table)
    if failed:
        raise typer.Exit(2)


@models_app.command("place")
def place_command(
    stack: StackOption,
    rebalance: Annotated[
        bool,
        typer.Option(
            "--rebalance",
            help="Re-pack every model at least cost: moves models, replaces endpoints.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would change; write nothing.")
    ] = False,
    as_json: Annotated[bool, json_option("what changes")] = False,
) -> None:
    """Update stacks/<stack>.placement.json and stacks/<stack>.routes.json: keep placed and
    routed models, add new, drop removed."""
    from components.serving.placement import place, read_placement_lock, write_placement_lock
    from components.serving.rebalance import plan_rebalance
    from components.serving.route_groups import route_groups, write_route_lock
    from infra.declarations import SpecError

    spec = _spec(stack)
    try:
        current = place(spec, read_placement_lock(stack))
    except SpecError as error:
        raise fail(error.render()) from None
    if not rebalance:
        path = None if dry_run else write_placement_lock(stack, current)
        groups = route_groups(spec)
        routes_path = None if dry_run else write_route_lock(stack, groups)
        if as_json:
            typer.echo(json.dumps({"stack": stack, "models": dict(current.models)}, indent=2))
        else:
            typer.echo(
                f"{len(current.models)} model(s) placed" + (f"; wrote {path}" if path else "")
            )
            typer.echo(
                f"{len(groups)} EKS model(s) routed"
                + (f"; wrote {routes_path}" if routes_path else "")
            )
        return
    plan = plan_rebalance(spec, current)
    path = None if dry_run else write_placement_lock(stack, plan.after)
    if as_json:
        typer.echo(json.dumps({"stack": stack, **plan.as_json(), "written": bool(path)}, indent=2))
        return
    _show_rebalance(stack, plan, path)


def _show_rebalance(stack: str, plan, path) -> None:
    from mlplat.cli_output import Column, Rows, show, stdout

    if not plan.moves:
        typer.echo(f"{stack}: the placement is already the cheapest found; nothing moves")
        return
    moves = Rows(f"models that move in {stack}", (Column("model"), Column("from"), Column("to")))
    for model, (old, new) in plan.moves.items():
        moves.add(model, old, new)
    endpoints = Rows(
        "endpoints replaced (models load cold on new ones)",
        (Column("endpoint"), Column("change"), Column("instances", "right")),
    )
    for name in plan.deleted:
        record = plan.before.endpoints[name]
        endpoints.add(name, "deleted", f"{record.settings.min_instances} x {record.instance_type}")
    for name in plan.created:
        record = plan.after.endpoints[name]
        endpoints.add(name, "created", f"{record.settings.min_instances} x {record.instance_type}")
    show(stdout(), moves, endpoints)
    typer.echo(
        f"monthly at minimum scale: ${plan.monthly_before:,.2f} -> ${plan.monthly_after:,.2f} "
        f"(saves ${plan.monthly_saving:,.2f})"
    )
    typer.echo(f"wrote {path}: commit it, then deploy" if path else "dry run: nothing written")
