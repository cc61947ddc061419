"""`mlplat batch run`: score a table on a local Spark, as the model's batch job would on EMR."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlplat.cli_options import StackOption, fail, json_option, typer_app

if TYPE_CHECKING:
    from infra.declarations import EnvironmentSpec
    from model_packages.packaging import Package

batch_app = typer_app("Batch scoring: a table in, the model's predictions out, on Spark.")


@batch_app.callback()
def batch() -> None:
    """Batch scoring with a model's MLflow model, from the archive its endpoint serves."""


def served_archive(spec: EnvironmentSpec, model: str) -> Package:
    """The archive the model is served from in this stack (built, or reused from the cache)."""
    from components.serving.artifacts import layout_for
    from components.serving.placement import plan_endpoints
    from model_packages.packaging import Layout, package_model

    declared = next(m for m in spec.models if m.name == model)
    plan = next((p for p in plan_endpoints(spec) if any(m.name == model for m in p.models)), None)
    layout = layout_for(plan) if plan is not None else Layout.FRAMEWORK  # EKS: framework image
    return package_model(declared.name, declared.version, declared.artifact, layout=layout)


@batch_app.command("run")
def run_command(
    model: Annotated[str, typer.Argument(help="The model, as declared in the stack.")],
    stack: StackOption,
    input: Annotated[
        str,
        typer.Option("--input", help="A Parquet, CSV (with a header) or JSON-lines file/folder."),
    ],
    output: Annotated[
        Path, typer.Option("--output", help="Output folder: model_version=<v>/run_id=<id>/.")
    ],
    features: Annotated[
        str | None,
        typer.Option(
            help="A tensor model's feature columns, comma-separated, in order "
            "(default feature_0..feature_<n-1>)."
        ),
    ] = None,
    input_format: Annotated[
        str | None, typer.Option("--format", help="parquet, csv or json (default: by suffix).")
    ] = None,
    run_id: Annotated[
        str | None, typer.Option(help="The run's id (default: derived from model and input).")
    ] = None,
    cores: Annotated[int, typer.Option(min=1, help="Local Spark task slots (local[N]).")] = 2,
    as_json: Annotated[bool, json_option("the run's id, rows and partition")] = False,
) -> None:
    """Score the --input table with MODEL on a local Spark, with the
    batch job's own script and the archive the model's endpoint serves."""
    from lifecycle.batch.local import java_problem
    from mlplat.cli_output import progress
    from mlplat.commands_models import _spec  # the one way a command loads a stack's declarations

    problem = java_problem()
    if problem:
        raise fail(problem)
    spec = _spec(stack)
    if model not in {m.name for m in spec.models}:
        known = ", ".join(sorted(m.name for m in spec.models))
        raise fail(f"model {model!r} is not declared in {stack} (declared: {known})")
    with progress("starting Spark…"):
        from lifecycle.batch.local import local_session
        from lifecycle.batch.score import FORMATS, BatchError, ScoreJob, score
        from model_packages.packaging import PackagingError

    if input_format is not None and input_format not in FORMATS:
        raise fail(f"--format {input_format!r}: use one of {', '.join(FORMATS)}")
    try:
        package = served_archive(spec, model)
    except PackagingError as error:
        raise fail(f"model {model!r}: {error}") from None
    job = ScoreJob(
        model=model,
        version=package.version,
        archive=str(package.path),
        input=input,
        output=str(output.resolve()),
        input_format=input_format,
        features=tuple(f.strip() for f in features.split(",")) if features else None,
        run_id=run_id,
    )
    try:
        with progress(f"scoring with {package.archive_name} on local[{cores}]…"):
            result = score(local_session(cores), job)
    except BatchError as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps({"model": model, "stack": stack, **result.__dict__}, indent=2))
    else:
        typer.echo(f"{result.rows} row(s) scored by {package.archive_name}: {result.partition}")
