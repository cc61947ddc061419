"""The per-model fields later issues added (batch jobs, lifecycle schedules, routes), in full:
each refusal's whole message, and the values on both sides of every bound EventBridge Scheduler,
Spark and the cluster set."""

from __future__ import annotations

from decimal import Decimal

import pytest

from infra.declarations import lifecycle
from infra.declarations.batch import BatchJob, batch_problems, pod_memory_gb, runs_per_month
from infra.declarations.batch import schedule_problem as batch_schedule_problem
from infra.declarations.errors import Problem
from tests.foundation.conftest import config_data
from tests.foundation.test_batch_and_streaming_declarations import job, problems
from tests.foundation.test_validation import problems_of

BOTH = [batch_schedule_problem, lifecycle.schedule_problem]

# --- schedules (a batch job's and the lifecycle's: the same EventBridge Scheduler grammar) ------


@pytest.mark.parametrize("schedule_problem", BOTH)
@pytest.mark.parametrize(
    "expression",
    [
        "at(2027-12-31T23:59:59)",  # the last month, day, hour, minute and second
        "at(2027-01-01T00:00:00)",  # the first
        "cron(59 23 31 12 ? 2199)",  # each field at its highest
        "cron(0 0 1 1 ? 1970)",  # and at its lowest
        "cron(0 0 ? 1 7 *)",
        "cron(0 0 ? 1 1 *)",
        "cron(0 2 LW * ? *)",  # the last weekday of the month
        "cron(0 2 15W * ? *)",
        "cron(*/5 2 * * ? *)",
        "cron(0 2 */5 * ? *)",
    ],
)
def test_schedules_at_every_bound_eventbridge_allows_are_accepted(schedule_problem, expression):
    assert schedule_problem(expression) is None


@pytest.mark.parametrize(
    "expression",
    [
        "at(2027-13-01T00:00:00)",
        "at(2027-00-01T00:00:00)",
        "at(2027-01-32T00:00:00)",
        "at(2027-01-00T00:00:00)",
        "at(2027-01-01T24:00:00)",
        "at(2027-01-01T00:60:00)",
        "at(2027-01-01T00:00:60)",
    ],
)
def test_a_batch_at_schedule_past_a_bound_is_not_a_date(expression):
    assert batch_schedule_problem(expression) == (
        f"{expression!r}: not a date and time (at(yyyy-mm-ddThh:mm:ss))"
    )


@pytest.mark.parametrize(
    "expression", ["cron(99 99 * * ? *)", "cron(0 2 * * ? 1900)", "at(2027-02-31T00:00:00)"]
)
def test_a_batch_schedule_is_held_to_the_values_scheduler_takes(expression):
    """Batch jobs and the lifecycle share one grammar: values, not only characters."""
    assert batch_schedule_problem(expression) == lifecycle.schedule_problem(expression)
    assert batch_schedule_problem(expression) is not None


@pytest.mark.parametrize(
    ("expression", "field"),
    [
        ("cron(60 0 * * ? *)", "minutes '60' is outside 0-59"),
        ("cron(0 24 * * ? *)", "hours '24' is outside 0-23"),
        ("cron(0 0 32 * ? *)", "day-of-month '32' is outside 1-31"),
        ("cron(0 0 1 13 ? *)", "month '13' is outside 1-12"),
        ("cron(0 0 ? 1 8 *)", "day-of-week '8' is outside 1-7"),
        ("cron(0 0 1 1 ? 2200)", "year '2200' is outside 1970-2199"),
        ("cron(0 -3 * * ? *)", "hours '-3' is outside 0-23"),  # a range needs its start
        ("cron(0 1,,2 * * ? *)", "hours '1,,2' is outside 0-23"),  # and a list its items
    ],
)
def test_a_lifecycle_cron_field_past_its_bound_is_named(expression, field):
    assert lifecycle.schedule_problem(expression) == f"{expression!r}: {field} or its wildcards"


def test_an_expression_of_neither_kind_says_what_the_kinds_are():
    assert batch_schedule_problem("daily") == (
        "'daily' is not an EventBridge Scheduler expression: rate(value unit), "
        "cron(minutes hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss)"
    )


def test_a_cron_problem_names_the_expression_it_is_in():
    assert batch_schedule_problem("cron(0 2 * * * *)") == (
        "'cron(0 2 * * * *)': one of day-of-month and day-of-week must be '?' (and only one), "
        "e.g. cron(0 2 * * ? *)"
    )


# --- a batch job's input and size ---------------------------------------------------------------


def test_a_job_with_both_or_neither_input_says_which_it_may_have():
    message = "give exactly one of s3 (a prefix with its format) and table (prediction-events)"
    assert problems(job(input={})) == {"models[0].batch[0].input": message}
    both = {"s3": "s3://warehouse/in/", "format": "csv", "table": "prediction-events"}
    assert problems(job(input=both)) == {"models[0].batch[0].input": message}


def test_a_table_has_its_own_format():
    table = {"table": "prediction-events", "format": "json"}
    assert problems(job(input=table)) == {
        "models[0].batch[0].input.format": (
            "table 'prediction-events' is json by definition: remove format"
        )
    }


def test_an_s3_input_needs_a_prefix_and_its_format():
    assert problems(job(input={"s3": ""})) == {
        "models[0].batch[0].input.s3": (
            "'' is not an S3 prefix s3://<bucket>/<prefix>/ (ending in '/')"
        ),
        "models[0].batch[0].input.format": (
            "a prefix holds files of one format: say which (parquet, csv, json)"
        ),
    }


@pytest.mark.parametrize(
    ("heap_gb", "pod_gb"),
    [
        # PySpark on Kubernetes: 40% over the heap (at least 384 MiB, which 40% of any whole
        # GB already exceeds)
        (1, Decimal("1.4")),
        (3, Decimal("4.2")),
        (4, Decimal("5.6")),
        (20, Decimal("28")),
    ],
)
def test_a_spark_pod_asks_for_its_heap_and_its_overhead(heap_gb, pod_gb):
    assert pod_memory_gb(heap_gb) == pod_gb


def _sized(cores: int, memory_gb: int) -> BatchJob:
    return BatchJob.model_validate(
        job(size={"executor_cores": cores, "executor_memory_gb": memory_gb})
    )


@pytest.mark.parametrize(
    ("cores", "memory_gb", "fits"),
    [
        (4, 4, True),  # exactly the node's 4 vCPU and all its memory
        (5, 4, False),
        (4, 5, False),
    ],
)
def test_an_executor_may_take_a_whole_spot_node_but_no_more(cores, memory_gb, fits):
    executor_mb = int(pod_memory_gb(4) * 1024)  # 4 GB of heap and its overhead
    nodes = [(Decimal(2), 100_000), (Decimal(4), executor_mb)]
    found = list(batch_problems((_sized(cores, memory_gb),), "models[0]", spot_nodes=nodes))
    wanted_mb = int(pod_memory_gb(memory_gb) * 1024)
    assert found == (
        []
        if fits
        else [
            Problem(
                "models[0].batch[0].size",
                f"an executor requests {cores} vCPU and {wanted_mb} MiB (memory plus Spark's "
                "overhead); the largest spot node offers about 2 vCPU and 100000 MiB to pods, so "
                "executors would stay Pending: lower executor_cores or executor_memory_gb, or add "
                "a larger type to cluster.spotNodes",
            )
        ]
    )


# --- routes -------------------------------------------------------------------------------------


def test_prod_without_a_certificate_says_how_to_give_one():
    assert problems_of(stack="prod")["config.routes.certificateArn"] == (
        "is required in prod: model routes are served over HTTPS only (set certificateArn, "
        "domain and privateZoneId under mlplat:routes in Pulumi.prod.yaml)"
    )


CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-4000-8000-000000000001"
TLS = {"certificateArn": CERTIFICATE, "domain": "models.example.internal", "privateZoneId": "Z1"}


def test_a_partial_tls_setting_lists_every_missing_key_in_order():
    only_domain = {"domain": TLS["domain"]}
    found = problems_of(config=config_data(**{"mlplat:routes": only_domain}))
    assert found == {
        "config.routes": "the HTTPS listener needs certificateArn, domain and privateZoneId "
        "together; missing: certificateArn, privateZoneId"
    }


def test_a_certificate_of_another_region_names_both_regions():
    elsewhere = TLS | {"certificateArn": CERTIFICATE.replace("us-east-1", "eu-west-1")}
    assert problems_of(config=config_data(**{"mlplat:routes": elsewhere})) == {
        "config.routes.certificateArn": "is in eu-west-1; the load balancers are in us-east-1 "
        "and can use only certificates of their own region"
    }
    assert problems(job(), config=config_data(**{"mlplat:routes": TLS})) == {}


# --- streaming ----------------------------------------------------------------------------------


def _streaming(teams: int = 1, **settings) -> dict[str, str]:
    config = config_data(**{"mlplat:streaming": {"enabled": True, "brokers": 2, **settings}})
    return {
        path: message
        for path, message in problems(job(), config=config, teams=teams).items()
        if path.startswith("config.streaming")
    }


@pytest.mark.parametrize("version", ["3.6.0", "3.6.x", "3.10.1", "4.0.x"])
def test_kafka_from_3_6_is_accepted(version):
    assert _streaming(replicationFactor=2, kafkaVersion=version) == {}


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("3.5.1", "3.5.1 is older than 3.6.0, which MSK's topic API (aws.msk.Topic) requires"),
        ("2.9.x", "2.9.x is older than 3.6.0, which MSK's topic API (aws.msk.Topic) requires"),
        ("latest", "'latest' is not like '3.8.x'"),
        ("3.8", "'3.8' is not like '3.8.x'"),
    ],
)
def test_an_older_or_unlike_kafka_version_is_refused_saying_why(version, message):
    assert _streaming(replicationFactor=2, kafkaVersion=version) == {
        "config.streaming.kafkaVersion": message
    }


def test_broker_count_and_replication_factor_are_named_with_their_figures():
    assert _streaming(brokers=3, replicationFactor=3) == {
        "config.streaming.brokers": "3 brokers over 2 zones: MSK needs a multiple of the "
        "number of client subnets (one per zone)"
    }
    assert _streaming(replicationFactor=3) == {
        "config.streaming.replicationFactor": "3 replicas need as many brokers (2)"
    }


@pytest.mark.parametrize("broker", ["kafka.t3.small", "m7g"])
def test_an_unknown_broker_type_lists_those_msk_offers_and_is_not_sized(broker):
    assert _streaming(replicationFactor=2, brokerInstanceType=broker) == {
        "config.streaming.brokerInstanceType": f"'{broker}' is not one of kafka.m5.large, "
        "kafka.m5.xlarge, kafka.m5.2xlarge, kafka.m7g.large, kafka.m7g.xlarge, kafka.m7g.2xlarge"
    }


@pytest.mark.parametrize(
    ("broker", "refused"),
    [("kafka.m7g.2xlarge", False), ("kafka.m5.2xlarge", False), ("kafka.m7g.xlarge", True)],
)
def test_partitions_per_broker_follow_msks_figure_for_its_size(broker, refused):
    """2 teams × 1,000 partitions × 2 replicas over 2 brokers: 2,000 per broker, MSK's figure for
    the 2xlarge sizes and twice that for the smaller ones."""
    found = _streaming(
        teams=2, replicationFactor=2, partitionsPerTeam=1000, brokerInstanceType=broker
    )
    message = (
        f"2 team topics × 1000 partitions × 2 replicas is 2000 per broker, over MSK's 1000 for "
        f"{broker}: add brokers or lower partitionsPerTeam"
    )
    assert found == ({"config.streaming.partitionsPerTeam": message} if refused else {})


# --- how often a batch schedule runs (the cost estimate's count) --------------------------------

MONTH_HOURS = 730  # the estimator's month


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("cron(0 6 15W * ? *)", 1),  # the weekday nearest the 15th: one day
        ("cron(0 6 LW * ? *)", 1),  # the last weekday
        ("cron(0 6 15W,1 * ? *)", 2),  # a weekday and a date: two days
        ("cron(0 6 1,2,15W * ? *)", 3),
        ("cron(0 6 LW,15W * ? *)", 2),  # two weekdays, each its own day
        ("cron(0 6 ? * 6L *)", 1),  # the last Friday
        ("cron(*/15 * * * ? *)", 4 * 24 * MONTH_HOURS / 24),  # every 15 minutes
        ("cron(0 6 1 JAN/3 ? *)", 4 / 12),  # quarterly from January: 4 months of 12
        ("cron(0 6 1 FEB/6 ? *)", 2 / 12),  # February and August
    ],
)
def test_a_schedule_runs_as_often_as_its_fields_select(expression, runs):
    assert batch_schedule_problem(expression) is None
    assert lifecycle.schedule_problem(expression) is None  # the stricter grammar
    assert runs_per_month(expression, MONTH_HOURS) == pytest.approx(runs)


def test_counting_the_runs_of_a_non_schedule_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"^not a schedule expression: 'daily'$"):
        runs_per_month("daily", MONTH_HOURS)


def test_the_largest_spot_node_named_is_the_one_with_most_memory_then_cores():
    nodes = [(Decimal(8), 16_000), (Decimal(2), 100_000), (Decimal(4), 100_000)]
    found = list(batch_problems((_sized(16, 120),), "models[0]", spot_nodes=nodes))
    assert len(found) == 1
    assert "the largest spot node offers about 4 vCPU and 100000 MiB" in found[0].message


@pytest.mark.parametrize(
    ("output", "overlaps"),
    [
        ("s3://warehouse/in/scores/", True),  # inside the input
        ("s3://warehouse/", True),  # holding it
        ("s3://warehouse/in/", True),
        ("s3://warehouse/inside/", False),  # a sibling whose name starts alike
        ("s3://warehouse/out/in/", False),
    ],
)
def test_an_output_overlapping_the_input_is_refused_saying_why(output, overlaps):
    found = problems(job(output=output))
    message = (
        "overlaps the input 's3://warehouse/in/': a run would read its own predictions (and a "
        "retry's overwrite could delete input): choose a separate prefix"
    )
    assert found == ({"models[0].batch[0].output": message} if overlaps else {})


def test_a_job_without_a_schedule_or_on_demand_never_runs_and_is_told_so():
    assert problems(job(schedule=None)) == {
        "models[0].batch[0].schedule": "the job never runs: give a schedule, or set "
        "on_demand=True (or both)"
    }
    assert problems(job(on_demand=True)) == {}  # both
