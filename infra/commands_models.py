"""`mlplat models list|package|place`: the models a stack serves, their archives and placement."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from components.serving.artifacts import layout_for
from components.serving.placement import (
    place_models,
    plan_endpoints,
    read_placement_lock,
    write_placement_lock,
)
from infra.declarations import EnvironmentSpec, SpecError
from infra.loader import load_environment, read_stack_config
from model_packages.packaging import Layout, PackagingError, package_model

models_app = typer.Typer(
    help="Models: where they are served, and their archives.", no_args_is_help=True
)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="dev, staging or prod.")]


@models_app.callback()
def models() -> None:
    """Models declared in a stack: placement on endpoints, and MLflow -> .tar.gz packaging."""


def _spec(stack: str) -> EnvironmentSpec:
    try:
        return load_environment(stack, read_stack_config(stack))
    except SpecError as error:
        Console(stderr=True).print(error.render(), markup=False)
        raise typer.Exit(2) from None


@models_app.command("list")
def list_command(stack: StackOption = "dev") -> None:
    """Every model of the stack: team, framework, where it is served and its TargetModel."""
    spec = _spec(stack)
    endpoint_of = {m.name: plan.endpoint_name for plan in plan_endpoints(spec) for m in plan.models}
    table = Table(title=f"models in {stack}")
    for column in ("model", "version", "team", "framework", "serving", "endpoint", "target model"):
        table.add_column(column)
    for model in sorted(spec.models, key=lambda m: m.name):
        endpoint = endpoint_of.get(model.name, "(EKS)")
        target = f"{model.name}-v{model.version}.tar.gz" if model.name in endpoint_of else ""
        table.add_row(
            model.name,
            str(model.version),
            model.team,
            model.framework,
            model.serving.value,
            endpoint,
            target,
        )
    Console().print(table)


@models_app.command("package")
def package_command(
    stack: StackOption = "dev",
    model: Annotated[list[str] | None, typer.Option(help="Only these models (repeatable).")] = None,
) -> None:
    """Build (or reuse from the cache) the archive of each model: endpoint- or EKS-served."""
    spec = _spec(stack)
    layouts = {m.name: layout_for(plan) for plan in plan_endpoints(spec) for m in plan.models}
    wanted = set(model or ())
    console = Console()
    failed = False
    for declared in sorted(spec.models, key=lambda m: m.name):
        if wanted and declared.name not in wanted:
            continue
        try:
            package = package_model(
                declared.name,
                declared.version,
                declared.artifact,
                layout=layouts.get(declared.name, Layout.FRAMEWORK),  # EKS: the framework image
            )
        except PackagingError as error:
            Console(stderr=True).print(f"{declared.name}: {error}", markup=False)
            failed = True
            continue
        console.print(f"{package.archive_name}  sha256={package.sha256}  {package.path}")
    if failed:
        raise typer.Exit(2)


@models_app.command("place")
def place_command(stack: StackOption = "dev") -> None:
    """Update stacks/<stack>.placement.json: keep placed models, add new, drop removed."""
    spec = _spec(stack)
    assignment = place_models(spec, read_placement_lock(stack))
    path = write_placement_lock(stack, assignment)
    Console().print(f"{len(assignment)} model(s) placed; wrote {path}")
