"""`mlplat cost` prices the lifecycle per model: drift runs from the schedule's frequency,
retraining at its runtime bound, spot where declared, attributed to the model."""

from __future__ import annotations

import datetime as dt

import pytest

from cost_model.estimate import EstimateError, EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.lifecycle import DRIFT_RUN_HOURS, EVALUATION_RUN_HOURS, runs_per_month
from cost_model.prices import HOURS_PER_MONTH, load_snapshot

SCHEDULE = "aws:scheduler/schedule:Schedule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("rate(1 day)", HOURS_PER_MONTH / 24),
        ("rate(7 days)", HOURS_PER_MONTH / (24 * 7)),
        ("rate(30 minutes)", HOURS_PER_MONTH * 2),
        ("rate(1 hour)", HOURS_PER_MONTH),
        ("cron(0 6 ? * MON *)", 52 / 12),  # 2026 has 52 Mondays
        ("cron(0/15 * * * ? *)", 96 * HOURS_PER_MONTH / 24),
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
    "expression", ["cron(0 3 L * ? *)", "cron(0 3 15W * ? *)", "cron(0 3 ? * 6#3 *)"]
)
def test_last_weekday_and_nth_day_are_counted_as_monthly(expression):
    runs, how = runs_per_month(expression)
    assert runs == 1.0 and "counted as monthly" in how


def test_day_names_with_l_or_w_are_days_not_wildcards():
    assert runs_per_month("cron(0 3 ? * WED *)")[0] == pytest.approx(52 / 12)
    assert runs_per_month("cron(0 3 ? * THU *)")[0] == pytest.approx(53 / 12)  # 2026 starts on one
