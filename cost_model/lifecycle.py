"""Prices of the model lifecycle (components/lifecycle), per model, from the graph alone.

- **Drift runs**: each drift schedule runs its pipeline ``runs/month`` times (from its schedule
  expression); a run is one Processing job of ``DRIFT_RUN_HOURS`` on the declared instance,
  split evenly among the models its config names. The job itself reads 1 M records in ~20 s on
  one core (benchmarks/README.md); what a run bills is dominated by the instance's start-up, so
  the quarter hour is an assumption, stated in every line's basis.
- **Retraining**: a run is the training job at ``MaxRuntimeSeconds`` (an upper bound: the job
  may stop sooner) plus the evaluation job (``EVALUATION_RUN_HOURS``). Spot training bills the
  on-demand rate less the estimator's spot discount (SageMaker publishes no spot price list;
  managed spot saves "up to 90%"). A schedule retrains ``runs/month`` times (low and high);
  a drift-triggered model retrains 0 times at least and at most once per drift run.
Rates: the snapshot's ``sagemaker_training_instance_hour`` and
``sagemaker_processing_instance_hour`` tables; a region or type they lack is a price error.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re

from cost_model.graph import Resource
from cost_model.prices import HOURS_PER_MONTH, PriceLookupError, RegionPrices
from infra.declarations.lifecycle import RATE_SECONDS

DRIFT_RUN_HOURS = 0.25
EVALUATION_RUN_HOURS = 0.25
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SCHEDULE = "aws:scheduler/schedule:Schedule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
# The year a cron expression's runs are counted over (its year field is not applied).
_REFERENCE_YEAR = 2026
_DAYS = {
    name: index for index, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)
}
_MONTHS = {name.upper(): index for index, name in enumerate(calendar.month_abbr) if name}


def runs_per_month(expression: str) -> tuple[float, str]:
    """How often a schedule expression fires in a 730-hour month, and how that was counted."""
    if rate := re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", expression):
        seconds = int(rate[1]) * RATE_SECONDS[rate[2]]
        return HOURS_PER_MONTH * 3600 / seconds, expression
    if expression.startswith("at("):
        return 0.0, f"{expression}: once, not monthly"
    fields = expression.removeprefix("cron(").removesuffix(")").split()
    if re.search(r"(^|,)(L|LW|\d+W)(,|$)", fields[2]) or re.search(r"#|\dL|^L$", fields[4]):
        return 1.0, f"{expression}: counted as monthly (L, W and # are not enumerated)"
    minutes, hours, days, months, weekdays = (
        _values(fields[0], 0, 59, {}),
        _values(fields[1], 0, 23, {}),
        _values(fields[2], 1, 31, {}),
        _values(fields[3], 1, 12, _MONTHS),
        _values(fields[4], 1, 7, _DAYS),
    )
    fires = 0
    day = dt.date(_REFERENCE_YEAR, 1, 1)
    while day.year == _REFERENCE_YEAR:
        weekday = day.isoweekday() % 7 + 1  # SUN=1 .. SAT=7
        if day.month in months and day.day in days and weekday in weekdays:
            fires += len(minutes) * len(hours)
        day += dt.timedelta(days=1)
    per_month = fires * HOURS_PER_MONTH / (365 * 24)
    return per_month, f"{expression}: {fires} runs in {_REFERENCE_YEAR}, per 730 h"


def _values(field: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    if field in ("*", "?"):
        return set(range(low, high + 1))
    found: set[int] = set()
    for item in field.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            start, stop = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, stop = _number(first, names), _number(last, names)
        else:
            start = _number(base, names)
            stop = high if step else start
        found.update(range(start, stop + 1, int(step) if step else 1))
    return found


def _number(text: str, names: dict[str, int]) -> int:
    return names[text.upper()] if text.upper() in names else int(text)


def _parameters(items) -> dict[str, str]:
    return {item["name"]: item["value"] for item in items or []}


def _rate(table: dict[str, float], instance_type: str, what: str, region: str) -> float:
    try:
        return table[instance_type]
    except KeyError:
        raise PriceLookupError(
            f"no SageMaker {what} price for {instance_type!r} in {region} in the price "
            f"snapshot; known: {', '.join(sorted(table)) or 'none'}"
        ) from None


def _drift_schedules(context) -> list[tuple[Resource, list[str], float, str]]:
    """(schedule, models it judges, runs/month, how counted) for every drift schedule."""
    found = []
    objects = context.graph.of_type(OBJECT)
    for schedule in context.graph.of_type(SCHEDULE):
        params = _parameters(
            (schedule.prop("target") or {})
            .get("sagemakerPipelineParameters", {})
            .get("pipelineParameters")
        )
        if "ConfigUri" not in params:
            continue
        config = next(
            (o for o in objects if params["ConfigUri"].endswith("/" + str(o.prop("key")))), None
        )
        models = sorted(json.loads(config.prop("content"))["models"]) if config else []
        runs, how = runs_per_month(str(schedule.prop("scheduleExpression")))
        found.append((schedule, models, runs, how))
    return found


def _retraining_run(
    params: dict[str, str], pipeline: Resource | None, prices: RegionPrices, region: str, context
) -> tuple[float, str]:
    """The price of one retraining run (training at its runtime bound + evaluation)."""
    instance = params.get("InstanceType", "ml.m5.xlarge")
    hours = int(params.get("MaxRuntimeSeconds", "3600")) / 3600
    training = _rate(prices.sagemaker_training_instance_hour, instance, "training", region)
    processing = _rate(prices.sagemaker_processing_instance_hour, instance, "processing", region)
    spot = pipeline is not None and '"EnableManagedSpotTraining": true' in str(
        pipeline.prop("pipelineDefinition")
    )
    discount = context.options.spot_discount if spot else 0.0
    cost = hours * training * (1 - discount) + EVALUATION_RUN_HOURS * processing
    kind = f"spot at {1 - discount:.0%} of on-demand" if spot else "on demand"
    basis = (
        f"{hours:g} h training on {instance} × ${training:g}/h ({kind}) + "
        f"{EVALUATION_RUN_HOURS:g} h evaluation × ${processing:g}/h"
    )
    return cost, basis


def _pipeline(context, arn: str) -> Resource | None:
    return next((p for p in context.graph.of_type(PIPELINE) if p.outputs.get("arn") == arn), None)


def _team(pipeline: Resource | None) -> str | None:
    # Schedules and targets take no tags: the pipeline they start carries the team's.
    return pipeline.tags.get("mlplat:team") if pipeline is not None else None


def drift_schedule(resource: Resource, prices: RegionPrices, region: str, context):
    from cost_model.estimate import Share, _Priced

    schedule = next((s for s in _drift_schedules(context) if s[0].urn == resource.urn), None)
    target = resource.prop("target") or {}
    params = _parameters(target.get("sagemakerPipelineParameters", {}).get("pipelineParameters"))
    pipeline = _pipeline(context, target.get("arn"))
    team = _team(pipeline)
    if schedule is None:  # a scheduled retraining run
        runs, how = runs_per_month(str(resource.prop("scheduleExpression")))
        run, basis = _retraining_run(params, pipeline, prices, region, context)
        cost = runs * run
        return _Priced(
            cost,
            cost,
            f"{runs:.4g} retraining runs/month ({how}) × ({basis})",
            (Share(params.get("ModelName", "?"), team, 1.0),),
        )
    _, models, runs, how = schedule
    instance = params.get("InstanceType", "ml.m5.large")
    rate = _rate(prices.sagemaker_processing_instance_hour, instance, "processing", region)
    cost = runs * DRIFT_RUN_HOURS * rate
    shares = tuple(Share(model, team, 1 / len(models)) for model in models) if models else ()
    basis = (
        f"{runs:.4g} drift runs/month ({how}) × {DRIFT_RUN_HOURS:g} h (assumed per run) on "
        f"{instance} × ${rate:g}/h, split among {len(models)} model(s)"
    )
    return _Priced(cost, cost, basis, shares)


def drift_triggered_retraining(resource: Resource, prices: RegionPrices, region: str, context):
    from cost_model.estimate import Share, _Priced

    params = _parameters(
        (resource.prop("sagemakerPipelineTarget") or {}).get("pipelineParameterLists")
    )
    model = params.get("ModelName")
    if model is None:
        return None  # not a retraining target (the promotion target costs nothing here)
    runs = sum(r for _, models, r, _h in _drift_schedules(context) if model in models)
    pipeline = _pipeline(context, resource.prop("arn"))
    run, basis = _retraining_run(params, pipeline, prices, region, context)
    return _Priced(
        0.0,
        runs * run,
        f"0 runs without drift, at most {runs:.4g}/month (one per drift run) × ({basis})",
        (Share(model, _team(pipeline), 1.0),),
    )


PRICERS = {SCHEDULE: drift_schedule, TARGET: drift_triggered_retraining}
