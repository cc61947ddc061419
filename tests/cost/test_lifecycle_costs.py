"""`mlplat cost` prices the lifecycle per model: drift runs from the schedule's frequency,
retraining at its runtime bound, spot where declared, attributed to the model."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cost_exports import export, resource, tags

from cost_model.estimate import EstimateError, EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.lifecycle import DRIFT_RUN_HOURS, EVALUATION_RUN_HOURS, runs_per_month
from cost_model.prices import HOURS_PER_MONTH, load_snapshot

SCHEDULE = "aws:scheduler/schedule:Schedule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("rate(1 day)", HOURS_PER_MONTH / 24),
        ("rate(7 days)", HOURS_PER_MONTH / (24 * 7)),
        ("rate(30 minutes)", HOURS_PER_MONTH * 2),
        ("rate(1 hour)", HOURS_PER_MONTH),
        ("cron(0 6 ? * MON *)", 52 / 12),  # 2026 has 52 Mondays
        ("cron(0/15 * * * ? *)", 96 * HOURS_PER_MONTH / 24),
        ("cron(*/20 * * * ? *)", 72 * HOURS_PER_MONTH / 24),  # a step over the whole range
        ("cron(* 3 * * ? *)", 60 * HOURS_PER_MONTH / 24),  # every minute, minute 0 included
        ("cron(0 8,20 * * ? *)", 2 * HOURS_PER_MONTH / 24),
        ("cron(0 3 1 * ? *)", 1.0),
        ("cron(0 3 1 JUL ? *)", 1 / 12),
        ("cron(0 9 ? * MON-FRI *)", 261 / 12),  # 2026's weekdays
        ("at(2026-12-01T10:00:00)", 0.0),
    ],
)
def test_runs_per_month(expression, runs):
    assert runs_per_month(expression)[0] == pytest.approx(runs)


@pytest.fixture(scope="module")
def priced(stack_export):
    export = stack_export("dev")
    options = EstimateOptions(as_of=dt.date(2026, 11, 28))
    return export, {
        i.urn: i for i in estimate(Graph.from_export(export), load_snapshot(), options).items
    }


def test_drift_runs_are_split_among_the_models_they_judge(priced):
    _, items = priced
    fraud = next(i for u, i in items.items() if u.endswith("mlplat-dev-fraud-lifecycle-drift-0"))
    rate = load_snapshot().region("us-east-1").sagemaker_processing_instance_hour["ml.m5.large"]
    assert fraud.monthly == pytest.approx(HOURS_PER_MONTH / 24 * DRIFT_RUN_HOURS * rate)
    assert {(s.model, s.team, s.fraction) for s in fraud.shares} == {
        ("chargeback-risk", "fraud", 0.5),
        ("fraud-scorer", "fraud", 0.5),
    }


def test_retraining_is_priced_at_spot_where_declared_and_attributed_to_its_model(priced):
    _, items = priced
    prices = load_snapshot().region("us-east-1")
    train = prices.sagemaker_training_instance_hour["ml.m5.xlarge"]
    evaluate = EVALUATION_RUN_HOURS * prices.sagemaker_processing_instance_hour["ml.m5.xlarge"]
    spot_run, on_demand_run = train * (1 - 0.6) + evaluate, train + evaluate
    drift = next(i for u, i in items.items() if u.endswith("retrain-fraud-scorer-target"))
    assert drift.monthly == 0  # no drift, no retraining
    assert drift.max_monthly == pytest.approx(HOURS_PER_MONTH / 24 * spot_run)
    assert [(s.model, s.team) for s in drift.shares] == [("fraud-scorer", "fraud")]
    churn = next(i for u, i in items.items() if u.endswith("retrain-churn-predictor-schedule"))
    assert churn.monthly == pytest.approx(HOURS_PER_MONTH / (24 * 7) * spot_run)
    recs = next(i for u, i in items.items() if u.endswith("retrain-recs-ranker-schedule"))
    assert recs.monthly == pytest.approx(1.0 * on_demand_run)  # monthly, spot=False
    assert "on demand" in recs.basis and "spot at 40%" in churn.basis


def test_a_training_price_missing_from_the_snapshot_is_an_error_naming_it(priced, tmp_path):
    export, _ = priced
    snapshot = load_snapshot()
    region = snapshot.regions["us-east-1"].model_copy(
        update={"sagemaker_training_instance_hour": {}}
    )
    bare = snapshot.model_copy(update={"regions": {**snapshot.regions, "us-east-1": region}})
    with pytest.raises(EstimateError, match="no SageMaker training price for 'ml.m5.xlarge'"):
        estimate(Graph.from_export(export), bare, EstimateOptions(as_of=dt.date(2026, 11, 28)))


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 3 L * ? *)",
        "cron(0 3 15W * ? *)",
        "cron(0 3 ? * 6#3 *)",
        "cron(0 3 ? * 5L *)",  # the last Thursday
        "cron(0 3 ? * L *)",  # the last day of the week
    ],
)
def test_last_weekday_and_nth_day_are_counted_as_monthly(expression):
    runs, how = runs_per_month(expression)
    assert runs == 1.0 and "counted as monthly" in how


def test_day_names_with_l_or_w_are_days_not_wildcards():
    assert runs_per_month("cron(0 3 ? * WED *)")[0] == pytest.approx(52 / 12)
    assert runs_per_month("cron(0 3 ? * THU *)")[0] == pytest.approx(53 / 12)  # 2026 starts on one


# --- the same pricers on hand-built graphs (no stack preview): each input read, each default ---

DRIFT_PIPELINE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/mlplat-dev-fraud-drift"
RETRAIN_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/mlplat-dev-fraud-retrain"
ON_DEMAND_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/mlplat-dev-fraud-on-demand"
# Rates that differ by table and by type, so a pricer reading the wrong one shows.
TRAINING = {"ml.m5.xlarge": 1.0, "ml.c5.xlarge": 3.0}
PROCESSING = {"ml.m5.large": 0.1, "ml.m5.xlarge": 0.5, "ml.c5.xlarge": 0.7}


def _snapshot(training=TRAINING, processing=PROCESSING):
    snapshot = load_snapshot()
    region = snapshot.regions["us-east-1"].model_copy(
        update={
            "sagemaker_training_instance_hour": training,
            "sagemaker_processing_instance_hour": processing,
        }
    )
    return snapshot.model_copy(update={"regions": {**snapshot.regions, "us-east-1": region}})


def _parameters(**values):
    return [{"name": name, "value": value} for name, value in values.items()]


def _pipeline(name, arn, definition, team="fraud"):
    return resource(
        "aws:sagemaker/pipeline:Pipeline",
        name,
        {"pipelineDefinition": definition, "tags": tags(team=team)},
        {"arn": arn},
    )


def _drift_config(index, models, team="fraud"):
    key = f"teams/{team}/lifecycle/drift/{index}/drift.json"
    content = json.dumps({"method": "ks", "models": {m: {"team": team} for m in models}})
    return resource(OBJECT, f"drift-config-{team}-{index}", {"key": key, "content": content})


def _pipeline_schedule(name, expression, arn, parameters):
    target = {"arn": arn, "sagemakerPipelineParameters": {"pipelineParameters": parameters}}
    return resource(SCHEDULE, name, {"scheduleExpression": expression, "target": target})


def _drift_schedule(index, expression, team="fraud", **parameters):
    uri = f"s3://artifacts/teams/{team}/lifecycle/drift/{index}/drift.json"
    parameters = _parameters(ConfigUri=uri, **parameters)
    return _pipeline_schedule(f"drift-{team}-{index}", expression, DRIFT_PIPELINE_ARN, parameters)


def _retrain_schedule(model, expression, arn=RETRAIN_ARN, **parameters):
    parameters = _parameters(ModelName=model, **parameters)
    return _pipeline_schedule(f"retrain-{model}", expression, arn, parameters)


def _retrain_target(model, arn=RETRAIN_ARN, **parameters):
    names = {"ModelName": model} if model else {}
    return resource(
        TARGET,
        f"retrain-{model}-target",
        {
            "arn": arn,
            "sagemakerPipelineTarget": {
                "pipelineParameterLists": _parameters(**names, **parameters)
            },
        },
    )


LIFECYCLE_PIPELINES = (
    _pipeline("drift", DRIFT_PIPELINE_ARN, '{"Steps": []}'),
    _pipeline("retrain", RETRAIN_ARN, '{"Steps": [{"EnableManagedSpotTraining": true}]}'),
    _pipeline("on-demand", ON_DEMAND_ARN, '{"Steps": [{"EnableManagedSpotTraining": false}]}'),
)


def _price(*entries, snapshot=None, spot_discount=0.6):
    options = EstimateOptions(as_of=dt.date(2026, 11, 28), spot_discount=spot_discount)
    graph = Graph.from_export(export(*LIFECYCLE_PIPELINES, *entries))
    result = estimate(graph, snapshot or _snapshot(), options)
    return {item.urn.rsplit("::", 1)[-1]: item for item in result.items}


def test_a_drift_schedule_costs_its_runs_on_its_instance_split_among_the_models_it_judges():
    items = _price(
        _drift_config(0, ["b-model", "a-model", "c-model"]),
        _drift_schedule(0, "rate(1 day)", InstanceType="ml.c5.xlarge"),
        _drift_config(1, ["d-model"]),
        _drift_schedule(1, "rate(12 hours)"),  # no InstanceType: the drift job's ml.m5.large
    )
    daily, twice = items["drift-fraud-0"], items["drift-fraud-1"]
    assert daily.monthly == daily.max_monthly
    assert daily.monthly == pytest.approx(HOURS_PER_MONTH / 24 * DRIFT_RUN_HOURS * 0.7)
    assert twice.monthly == pytest.approx(HOURS_PER_MONTH / 12 * DRIFT_RUN_HOURS * 0.1)
    # each schedule judges the models of its own config (matched by the key its URI ends with)
    assert [(s.model, s.team) for s in daily.shares] == [
        ("a-model", "fraud"),
        ("b-model", "fraud"),
        ("c-model", "fraud"),
    ]
    assert [s.fraction for s in daily.shares] == pytest.approx([1 / 3] * 3)
    assert [(s.model, s.team, s.fraction) for s in twice.shares] == [("d-model", "fraud", 1.0)]
    assert daily.basis == (
        "30.42 drift runs/month (rate(1 day)) × 0.25 h (assumed per run) on ml.c5.xlarge × "
        "$0.7/h, split among 3 model(s)"
    )


def test_a_drift_schedule_whose_config_is_not_in_the_graph_is_priced_and_charged_to_no_model():
    items = _price(_drift_config(0, ["a-model"], team="growth"), _drift_schedule(0, "rate(1 day)"))
    item = items["drift-fraud-0"]
    assert item.monthly == pytest.approx(HOURS_PER_MONTH / 24 * DRIFT_RUN_HOURS * 0.1)
    assert item.shares == () and item.team is None
    assert "split among 0 model(s)" in item.basis


@pytest.mark.parametrize(
    ("arn", "spot"), [(RETRAIN_ARN, True), (ON_DEMAND_ARN, False), ("arn:unknown", False)]
)
def test_a_scheduled_retraining_costs_its_runs_at_the_runtime_bound_spot_where_declared(arn, spot):
    items = _price(
        _retrain_schedule(
            "a-model",
            "rate(7 days)",
            arn=arn,
            InstanceType="ml.c5.xlarge",
            MaxRuntimeSeconds="7200",
        ),
        spot_discount=0.25,
    )
    item = items["retrain-a-model"]
    training = 2 * 3.0 * (0.75 if spot else 1.0)
    run = training + EVALUATION_RUN_HOURS * 0.7
    assert item.monthly == item.max_monthly == pytest.approx(HOURS_PER_MONTH / (24 * 7) * run)
    team = "fraud" if arn != "arn:unknown" else None  # the pipeline's team: schedules have no tags
    assert [(s.model, s.team, s.fraction) for s in item.shares] == [("a-model", team, 1.0)]
    kind = "spot at 75% of on-demand" if spot else "on demand"
    assert item.basis == (
        f"4.345 retraining runs/month (rate(7 days)) × (2 h training on ml.c5.xlarge × $3/h "
        f"({kind}) + 0.25 h evaluation × $0.7/h)"
    )


def test_a_retraining_run_without_its_parameters_is_an_hour_on_an_ml_m5_xlarge():
    schedule = _retrain_schedule("a-model", "cron(0 3 1 * ? *)", arn=ON_DEMAND_ARN)
    item = _price(schedule)["retrain-a-model"]
    assert item.monthly == pytest.approx(1.0 * (1.0 + EVALUATION_RUN_HOURS * 0.5))
    assert "1 h training on ml.m5.xlarge" in item.basis


def test_drift_triggered_retraining_costs_nothing_at_least_and_one_run_per_drift_run_at_most():
    items = _price(
        _drift_config(0, ["a-model", "b-model"]),
        _drift_schedule(0, "rate(1 day)"),
        _drift_config(1, ["a-model"]),
        _drift_schedule(1, "rate(7 days)"),
        _retrain_target("a-model", InstanceType="ml.c5.xlarge", MaxRuntimeSeconds="1800"),
        _retrain_target("b-model", arn=ON_DEMAND_ARN),
        _retrain_target("z-model"),  # judged by no drift schedule
    )
    runs = HOURS_PER_MONTH / 24 + HOURS_PER_MONTH / (24 * 7)  # both schedules judge a-model
    a_run = 0.5 * 3.0 * (1 - 0.6) + EVALUATION_RUN_HOURS * 0.7
    a, b, z = (items[f"retrain-{m}-target"] for m in ("a-model", "b-model", "z-model"))
    assert a.monthly == b.monthly == z.monthly == 0
    assert a.max_monthly == pytest.approx(runs * a_run)
    assert b.max_monthly == pytest.approx(HOURS_PER_MONTH / 24 * (1.0 + EVALUATION_RUN_HOURS * 0.5))
    assert z.max_monthly == 0
    assert [(s.model, s.team, s.fraction) for s in a.shares] == [("a-model", "fraud", 1.0)]
    assert a.basis.startswith(f"0 runs without drift, at most {runs:.4g}/month (one per drift run)")
    assert "0.5 h training on ml.c5.xlarge × $3/h (spot at 40% of on-demand)" in a.basis


def test_an_event_target_that_starts_no_retraining_is_not_priced():
    items = _price(_retrain_target(None))
    assert not [name for name in items if name.endswith("-target")]


def _odd_schedule():
    """A schedule that starts neither a batch job nor a pipeline with parameters."""
    target = {"arn": "arn:aws:lambda:us-east-1:123456789012:function:other"}
    return resource(SCHEDULE, "odd", {"scheduleExpression": "rate(1 day)", "target": target})


def test_drift_schedules_are_found_among_schedules_of_other_kinds_in_any_order():
    items = _price(
        _retrain_schedule("r-model", "rate(7 days)"),  # listed first: no ConfigUri
        _odd_schedule(),
        _drift_config(0, ["a-model"]),
        _drift_schedule(0, "rate(1 day)"),
    )
    drift = items["drift-fraud-0"]
    assert [(s.model, s.fraction) for s in drift.shares] == [("a-model", 1.0)]
    assert drift.basis.startswith("30.42 drift runs/month")


def test_a_scheduled_pipeline_run_that_names_no_model_is_still_priced_as_unattributed():
    """Never dropped: the report shows a line for model '?', not a cost folded into shared."""
    schedule = _retrain_schedule("x", "rate(1 day)", arn=ON_DEMAND_ARN)
    schedule["inputs"]["target"]["sagemakerPipelineParameters"]["pipelineParameters"] = []
    item = _price(schedule)["retrain-x"]
    assert item.monthly == pytest.approx(HOURS_PER_MONTH / 24 * (1.0 + EVALUATION_RUN_HOURS * 0.5))
    assert [(s.model, s.team) for s in item.shares] == [("?", "fraud")]


TWO_RATES = {"ml.m5.large": 0.1, "ml.m5.xlarge": 0.5}


@pytest.mark.parametrize(
    ("training", "processing", "what", "entries"),
    [
        ({}, PROCESSING, "training", ()),
        (TRAINING, TWO_RATES, "processing", ()),
        (
            TRAINING,
            TWO_RATES,
            "processing",
            (
                _drift_config(0, ["a-model"]),
                _drift_schedule(0, "rate(1 day)", InstanceType="ml.c5.xlarge"),
            ),
        ),
        (
            TRAINING,
            TWO_RATES,
            "processing",
            (_retrain_target("a-model", InstanceType="ml.c5.xlarge"),),
        ),
    ],
)
def test_an_instance_type_missing_from_a_price_table_is_an_error_naming_it_and_the_known_ones(
    training, processing, what, entries
):
    schedule = _retrain_schedule("a-model", "rate(1 day)", InstanceType="ml.c5.xlarge")
    if entries:
        schedule = _retrain_schedule("b-model", "rate(1 day)")  # priced: only `entries` fail
    with pytest.raises(EstimateError) as error:
        _price(schedule, *entries, snapshot=_snapshot(training, processing))
    known = ", ".join(sorted({"training": training, "processing": processing}[what])) or "none"
    assert (
        f"no SageMaker {what} price for 'ml.c5.xlarge' in us-east-1 in the price snapshot; "
        f"known: {known}"
    ) in str(error.value)
