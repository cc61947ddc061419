"""The Spark and Kafka pricers on hand-made graphs: a scheduled job (runs/month × one run's
EMR on EKS charge for its pods' requests), an on-demand job template (a per-run figure, $0 a
month) and the MSK cluster (broker-hours and storage). The whole-stack previews in
test_pipeline_costs.py check the same sums against the declarations; these state each branch,
default and the basis text, without starting the offline engine.

Figures are worked by hand from infra/prices.json (us-east-1): EMR on EKS $0.01012 per
vCPU-hour and $0.00111125 per GB-hour; MSK kafka.m5.large $0.21 per broker-hour and $0.10 per
GB-month of storage. Pod memory is the heap plus max(40 %, 384 MiB) of it
(infra/declarations/batch.py pod_memory_gb): 1 GB → 1.4, 2 GB → 2.8, 4 GB → 5.6."""

from __future__ import annotations

import json

import pytest

from cost_model.estimate import (
    START_JOB_RUN,
    EstimateError,
    Share,
    _spark_conf,
)
from cost_model.prices import load_snapshot
from tests.cost.cost_exports import resource, tags
from tests.cost.pricer_graphs import east_with, price

SCHEDULE = "aws:scheduler/schedule:Schedule"
TEMPLATE = "aws:emrcontainers/jobTemplate:JobTemplate"
KAFKA = "aws:msk/cluster:Cluster"
MINUTES = "mlplat:cost:expected-run-minutes"
EMR_BASIS = "per hour (EMR on EKS; the nodes are the node groups' lines)"

# 3 executors of 2 cores and 4 GB, a driver of 2 cores and 2 GB (written 2G: Spark takes
# either case); the executors' memory is the last pair (the parser must read it too), and
# a value may itself hold '='.
SIZED = (
    "--conf spark.executor.instances=3 --conf spark.executor.cores=2 --conf spark.driver.cores=2"
    " --conf spark.driver.extraJavaOptions=-Dlog4j.level=WARN --conf spark.driver.memory=2G"
    " --conf spark.executor.memory=4g"
)
# 3 × 2 + 2 = 8 vCPU; 3 × 5.6 + 2.8 = 19.6 GB.
SIZED_HOUR = 8 * 0.01012 + 19.6 * 0.00111125
SIZED_PRICING = f"(8 vCPU × $0.01012 + 19.6 GB × $0.00111125) {EMR_BASIS}"
# Nothing declared: 1 executor of 1 core and 1 GB, a driver of 1 core and 1 GB:
# 2 vCPU, 1.4 + 1.4 = 2.8 GB.
DEFAULT_HOUR = 2 * 0.01012 + 2.8 * 0.00111125
DEFAULT_PRICING = f"(2 vCPU × $0.01012 + 2.8 GB × $0.00111125) {EMR_BASIS}"


@pytest.fixture(scope="module", autouse=True)
def _the_rates_worked_here():
    region = load_snapshot().region("us-east-1")
    assert (region.emr_on_eks.vcpu_hour, region.emr_on_eks.gb_hour) == (0.01012, 0.00111125)
    assert region.msk.broker_hour["kafka.m5.large"] == 0.21
    assert region.msk.storage_gb_month == 0.1


def _schedule(
    parameters: str = SIZED,
    expression: str = "rate(1 hour)",
    *,
    run_tags: dict | None = None,
    arn: str = START_JOB_RUN,
    name: str = "nightly",
):
    request = {
        "JobDriver": {"SparkSubmitJobDriver": {"SparkSubmitParameters": parameters}},
        "Tags": {"mlplat:model": "churn", "mlplat:team": "growth", MINUTES: "45"}
        if run_tags is None
        else run_tags,
    }
    target = {"arn": arn, "input": json.dumps(request), "roleArn": "arn:aws:iam::1:role/x"}
    return resource(SCHEDULE, name, {"scheduleExpression": expression, "target": target})


# --- scheduled Spark jobs ------------------------------------------------------------------------


def test_a_scheduled_job_costs_its_runs_at_its_pods_requests():
    (line,) = price(_schedule()).items
    per_run = 0.75 * SIZED_HOUR  # 45 minutes
    assert line.monthly == pytest.approx(730 * per_run)
    assert line.max_monthly == pytest.approx(730 * per_run)
    assert line.basis == f"730 runs/month (rate(1 hour)) × $0.08/run: 45 min × {SIZED_PRICING}"
    # The run's tags name the owner (a schedule has no tags of its own).
    assert line.shares == (Share("churn", "growth", 1.0),)
    assert line.allocations("model") == [("churn", 1.0)]
    assert line.allocations("team") == [("growth", 1.0)]


def test_a_job_without_spark_settings_runs_spark_defaults():
    expression = "cron(0 2 * * ? *)"  # daily: 730 / 24 runs
    per_run = 0.5 * DEFAULT_HOUR
    run_tags = {MINUTES: "30"}
    (line,) = price(_schedule("", expression, run_tags=run_tags)).items
    assert line.monthly == pytest.approx(730 / 24 * per_run)
    assert line.max_monthly == pytest.approx(730 / 24 * per_run)
    assert line.basis == (
        f"30.4167 runs/month ({expression}) × $0.01/run: 30 min × {DEFAULT_PRICING}"
    )
    # No model in the run's tags: nobody's share, the line is the shared pool's.
    assert line.shares == ()
    assert (line.team, line.model) == (None, None)
    assert line.allocations("model") == [("(shared)", 1.0)]


def test_a_run_with_a_model_but_no_team_is_the_models():
    (line,) = price(_schedule(run_tags={"mlplat:model": "churn", MINUTES: "45"})).items
    assert line.shares == (Share("churn", None, 1.0),)


@pytest.mark.parametrize(("minutes", "hours"), [("0.5", 0.5 / 60), ("1", 1 / 60), ("90", 1.5)])
def test_any_positive_duration_is_priced_by_the_minute(minutes, hours):
    (line,) = price(_schedule(run_tags={MINUTES: minutes})).items
    assert line.monthly == pytest.approx(730 * hours * SIZED_HOUR)
    assert f"/run: {minutes} min × {SIZED_PRICING}" in line.basis


@pytest.mark.parametrize("minutes", [None, "0", "-5", "soon", ""])
def test_a_duration_that_is_not_a_positive_number_is_an_error_naming_the_tag(minutes):
    run_tags = {} if minutes is None else {MINUTES: minutes}
    with pytest.raises(EstimateError) as raised:
        price(_schedule(run_tags=run_tags))
    assert raised.value.problems == [
        f"{_schedule()['urn']}: {MINUTES}={minutes!r} is not a positive number of minutes"
    ]


def test_a_request_without_tags_is_missing_its_duration():
    schedule = _schedule()
    request = json.loads(schedule["inputs"]["target"]["input"])
    del request["Tags"]
    schedule["inputs"]["target"]["input"] = json.dumps(request)
    with pytest.raises(EstimateError, match=f"{MINUTES}=None is not a positive number"):
        price(schedule)


def test_a_region_without_emr_rates_is_an_error_naming_it():
    with pytest.raises(EstimateError) as raised:
        price(_schedule(), snapshot=east_with(emr_on_eks=None))
    assert raised.value.problems == [
        f"{_schedule()['urn']}: no EMR on EKS rates for us-east-1 in the price snapshot"
    ]


def test_a_schedule_that_starts_no_spark_job_is_left_to_the_lifecycles_pricer():
    # A retraining schedule: the Spark pricer passes, the lifecycle's prices it.
    snapshot = load_snapshot().region("us-east-1")
    training = snapshot.sagemaker_training_instance_hour["ml.m5.xlarge"]
    processing = snapshot.sagemaker_processing_instance_hour["ml.m5.xlarge"]
    pipeline_arn = "arn:aws:sagemaker:us-east-1:1:pipeline/churn-retrain"
    schedule = resource(
        SCHEDULE,
        "retrain",
        {
            "scheduleExpression": "rate(1 day)",
            "target": {
                "arn": pipeline_arn,
                "sagemakerPipelineParameters": {
                    "pipelineParameters": [
                        {"name": "ModelName", "value": "churn"},
                        {"name": "InstanceType", "value": "ml.m5.xlarge"},
                        {"name": "MaxRuntimeSeconds", "value": "3600"},
                    ]
                },
            },
        },
    )
    (line,) = price(schedule).items
    assert line.monthly == pytest.approx(730 / 24 * (training + 0.25 * processing))
    assert line.basis.startswith("30.42 retraining runs/month (rate(1 day))")
    assert line.shares == (Share("churn", None, 1.0),)


# --- the Spark parameters ------------------------------------------------------------------------


def test_only_conf_pairs_are_read():
    assert _spark_conf("--name a=b --conf k=v --conf flag --conf x=y=z --conf") == {
        "k": "v",
        "x": "y=z",
    }


def test_the_last_pair_is_read():
    assert _spark_conf("--class Main --conf k=v") == {"k": "v"}
    assert _spark_conf("") == {}


# --- on-demand job templates ---------------------------------------------------------------------


def _template(data=None, minutes: str | None = "45", name: str = "backfill"):
    labels = {**tags(team="growth", model="churn")}
    if minutes is not None:
        labels[MINUTES] = minutes
    inputs = {"tags": labels}
    if data is not None:
        inputs["jobTemplateData"] = data
    return resource(TEMPLATE, name, inputs)


def test_a_job_template_states_its_run_and_costs_nothing_a_month():
    data = {"jobDriver": {"sparkSubmitJobDriver": {"sparkSubmitParameters": SIZED}}}
    (line,) = price(_template(data)).items
    assert (line.monthly, line.max_monthly) == (0.0, 0.0)
    assert line.basis == (f"on demand: $0.08 per run, not a monthly cost: 45 min × {SIZED_PRICING}")
    assert (line.team, line.model) == ("growth", "churn")


@pytest.mark.parametrize(
    "data",
    [None, {}, {"jobDriver": {}}, {"jobDriver": {"sparkSubmitJobDriver": {}}}],
    ids=["no data", "empty data", "no Spark driver", "no parameters"],
)
def test_a_template_without_parameters_runs_spark_defaults(data):
    (line,) = price(_template(data, minutes="600")).items
    # 10 h × (2 vCPU × $0.01012 + 2.8 GB × $0.00111125) = $0.233515
    assert line.basis == (
        f"on demand: $0.23 per run, not a monthly cost: 600 min × {DEFAULT_PRICING}"
    )
    assert (line.monthly, line.max_monthly) == (0.0, 0.0)


def test_a_template_without_a_duration_is_an_error():
    with pytest.raises(EstimateError, match=f"{MINUTES}=None is not a positive number"):
        price(_template({}, minutes=None))


def test_a_template_in_a_region_without_emr_rates_is_an_error_naming_it():
    with pytest.raises(EstimateError, match="no EMR on EKS rates for us-east-1"):
        price(_template({}), snapshot=east_with(emr_on_eks=None))


# --- the Kafka cluster ---------------------------------------------------------------------------


def _kafka(brokers: int | None = 3, volume: int | None = 100, instance="kafka.m5.large"):
    nodes: dict = {"clientSubnets": ["a", "b", "c"]}
    if instance is not None:
        nodes["instanceType"] = instance
    if volume is not None:
        nodes["storageInfo"] = {"ebsStorageInfo": {"volumeSize": volume}}
    inputs: dict = {"brokerNodeGroupInfo": nodes, "tags": tags()}
    if brokers is not None:
        inputs["numberOfBrokerNodes"] = brokers
    return resource(KAFKA, "events", inputs)


def test_the_kafka_cluster_costs_broker_hours_and_each_brokers_storage():
    (line,) = price(_kafka()).items
    # 3 × 730 h × $0.21 = $459.90; 3 × 100 GB × $0.10 = $30.
    assert line.monthly == pytest.approx(459.9 + 30)
    assert line.max_monthly == pytest.approx(459.9 + 30)
    assert line.basis == (
        "3 × kafka.m5.large × 730 h × $0.21/h + 3 × 100 GB × $0.1/GB-month"
        " (data transfer not estimated)"
    )


def test_storage_grows_with_brokers_and_volume():
    (line,) = price(_kafka(brokers=2, volume=1000)).items
    # 2 × 730 × $0.21 = $306.60; 2 × 1000 × $0.10 = $200.
    assert line.monthly == pytest.approx(306.6 + 200)


@pytest.mark.parametrize("volume", [None, 0])
def test_a_cluster_without_a_volume_pays_for_brokers_only(volume):
    (line,) = price(_kafka(volume=volume)).items
    assert line.monthly == pytest.approx(459.9)
    assert "+ 3 × 0 GB × $0.1/GB-month" in line.basis


def test_a_cluster_with_storage_info_but_no_ebs_volume_pays_for_brokers_only():
    cluster = _kafka(volume=None)
    cluster["inputs"]["brokerNodeGroupInfo"]["storageInfo"] = {}
    (line,) = price(cluster).items
    assert line.monthly == pytest.approx(459.9)
    cluster["inputs"]["brokerNodeGroupInfo"]["storageInfo"] = {"ebsStorageInfo": {}}
    (line,) = price(cluster).items
    assert line.monthly == pytest.approx(459.9)


def test_a_cluster_without_a_broker_count_has_no_brokers():
    (line,) = price(_kafka(brokers=None)).items
    assert (line.monthly, line.max_monthly) == (0.0, 0.0)
    assert line.basis.startswith("0 × kafka.m5.large × 730 h × $0.21/h + 0 × 100 GB")


def test_an_unknown_broker_type_is_an_error_naming_it_and_the_region():
    with pytest.raises(EstimateError) as raised:
        price(_kafka(instance="kafka.t3.small"))
    assert "no MSK broker price for 'kafka.t3.small' in us-east-1" in str(raised.value)
    with pytest.raises(EstimateError, match="no MSK broker price for None in us-east-1"):
        price(_kafka(instance=None))


def test_a_region_without_msk_prices_is_an_error_naming_it():
    with pytest.raises(EstimateError) as raised:
        price(_kafka(), snapshot=east_with(msk=None))
    assert raised.value.problems == [
        f"{_kafka()['urn']}: no MSK prices for us-east-1 in the price snapshot"
    ]
