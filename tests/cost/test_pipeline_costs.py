"""`mlplat cost` prices what issue 18 adds: each scheduled Spark job (runs per month from its
schedule × one run at its declared size and duration) and the MSK cluster (broker-hours and
storage), recomputed here from the declarations and the snapshot, not from the estimator."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cost_model.estimate import EstimateError, EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import HOURS_PER_MONTH, load_snapshot
from infra.declarations.batch import pod_memory_gb, runs_per_month
from infra.loader import load_environment, read_stack_config

STACK = "staging"  # Kafka on, a scheduled job
AS_OF = dt.date(2026, 11, 28)


@pytest.fixture(scope="module")
def priced():
    from tests.conftest import _preview  # the session's cached offline export

    document = json.loads(json.dumps(_preview(STACK)))
    return document, estimate(
        Graph.from_export(document), load_snapshot(), EstimateOptions(as_of=AS_OF)
    )


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("rate(1 day)", 730 / 24),
        ("rate(1 hour)", 730),
        ("rate(30 minutes)", 1460),
        ("rate(7 days)", 730 / 24 / 7),
        ("cron(0 2 * * ? *)", 730 / 24),
        ("cron(0 2,14 * * ? *)", 2 * 730 / 24),
        ("cron(0/15 * * * ? *)", 4 * 24 * 730 / 24),
        ("cron(0 6 ? * MON-FRI *)", 5 * 730 / 24 / 7),
        ("cron(0 6 ? * SAT,SUN *)", 2 * 730 / 24 / 7),
        ("cron(0 6 1 * ? *)", 1),
        ("cron(0 6 1,15 * ? *)", 2),
        ("cron(0 6 1 1 ? *)", 1 / 12),
        ("cron(0 6 ? * 2#1 *)", 1),
        ("cron(0 6 L * ? *)", 1),
        ("at(2027-01-01T00:00:00)", 1),
    ],
)
def test_runs_per_month_follow_the_schedule(expression, runs):
    assert runs_per_month(expression, HOURS_PER_MONTH) == pytest.approx(runs)


def _line(result, urn_suffix: str):
    return next(item for item in result.items if item.urn.endswith(urn_suffix))


def test_each_scheduled_job_costs_its_runs_at_its_size(priced):
    document, result = priced
    spec = load_environment(STACK, read_stack_config(STACK))
    region = load_snapshot().region(spec.settings.region)
    jobs = [(m, j) for m in spec.models for j in m.batch if j.schedule]
    assert jobs
    for model, job in jobs:
        size = job.size
        hours = size.expected_minutes / 60
        memory = size.executors * pod_memory_gb(size.executor_memory_gb) + pod_memory_gb(
            size.driver_memory_gb
        )
        per_run = hours * (
            size.vcpu * region.emr_on_eks.vcpu_hour + float(memory) * region.emr_on_eks.gb_hour
        )
        line = _line(
            result, f"::{'mlplat-staging-' + model.team}-batch-{model.name}-{job.name}-schedule"
        )
        expected = runs_per_month(job.schedule, HOURS_PER_MONTH) * per_run
        assert line.monthly == pytest.approx(expected)
        assert line.allocations("model") == [(model.name, 1.0)]
        assert line.allocations("team") == [(model.team, 1.0)]


def test_the_kafka_cluster_costs_its_broker_hours_and_storage(priced):
    document, result = priced
    settings = load_environment(STACK, read_stack_config(STACK)).settings
    msk = load_snapshot().region(settings.region).msk
    streaming = settings.streaming
    expected = streaming.brokers * (
        HOURS_PER_MONTH * msk.broker_hour[streaming.broker_instance_type]
        + streaming.broker_storage_gb * msk.storage_gb_month
    )
    assert _line(result, "::mlplat-staging-events-cluster").monthly == pytest.approx(expected)


def test_dev_has_no_kafka_cluster_to_pay_for(stack_export):
    graph = Graph.from_export(stack_export("dev"))
    assert graph.of_type("aws:msk/cluster:Cluster") == []


def test_a_snapshot_without_the_rates_is_an_error_naming_them(priced):
    document, _ = priced
    snapshot = load_snapshot()
    regions = {
        name: region.model_copy(update={"msk": None, "emr_on_eks": None})
        for name, region in snapshot.regions.items()
    }
    bare = snapshot.model_copy(update={"regions": regions})
    with pytest.raises(EstimateError) as raised:
        estimate(Graph.from_export(document), bare, EstimateOptions(as_of=AS_OF))
    text = str(raised.value)
    assert "no MSK prices for us-east-1" in text and "no EMR on EKS rates for us-east-1" in text


def test_a_bad_run_duration_is_an_error(priced):
    document, _ = priced
    for entry in document["deployment"]["resources"]:
        if (
            entry["type"] == "aws:scheduler/schedule:Schedule"
            and "input" in entry["inputs"]["target"]
        ):
            request = json.loads(entry["inputs"]["target"]["input"])
            request["Tags"]["mlplat:cost:expected-run-minutes"] = "soon"
            entry["inputs"]["target"]["input"] = entry["outputs"]["target"]["input"] = json.dumps(
                request
            )
    with pytest.raises(EstimateError, match="expected-run-minutes='soon'"):
        estimate(Graph.from_export(document), load_snapshot(), EstimateOptions(as_of=AS_OF))
