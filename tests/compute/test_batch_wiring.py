"""The batch wiring's plain parts: names within AWS's limits at the longest names the
declarations allow, and pod placement for spot (the namespace quota: the team's declared one,
tests/foundation/test_team_data.py)."""

from __future__ import annotations

import yaml

from components.batch import job_role_name, pod_templates, run_name
from components.batch_tenancy import batch_namespace
from components.cluster import SPOT_TAINT
from components.pipeline_permissions import batch_names, scheduler_role_name
from components.streaming import topic_arn
from infra.declarations.batch import JOB_NAME_MAX
from infra.declarations.model import MODEL_NAME_MAX, TEAM_NAME_MAX
from lifecycle.events import topic_name

LONGEST_ENV = "staging"


def test_names_fit_aws_limits_at_the_longest_declared_names():
    team, model, job = "t" * TEAM_NAME_MAX, "m" * MODEL_NAME_MAX, "j" * JOB_NAME_MAX
    # IAM role names: 64 (IAM quotas); Scheduler schedule and group names: 64; EventBridge rule
    # names: 64; EMR job template names: 64; Kubernetes namespace: 63; Kafka topic: 249.
    assert len(job_role_name(LONGEST_ENV, team, model, job)) <= 64
    assert len(scheduler_role_name(LONGEST_ENV, team)) <= 64
    assert len(batch_names(LONGEST_ENV, team)) <= 64
    assert len(run_name(model, job)) <= 64
    assert len(batch_namespace(team)) <= 63
    assert len(topic_name(LONGEST_ENV, team)) <= 249


def test_job_roles_are_distinct_per_model_and_job():
    names = {
        job_role_name("dev", "growth", model, job)
        for model in ("churn", "churn-a")
        for job in ("nightly", "weekly")
    }
    assert len(names) == 4


def test_drivers_run_on_demand_and_executors_on_tolerated_spot_nodes():
    templates = {name: yaml.safe_load(body) for name, body in pod_templates().items()}
    capacity = "eks.amazonaws.com/capacityType"
    driver, executor = templates["driver.yaml"]["spec"], templates["executor.yaml"]["spec"]
    assert driver["nodeSelector"] == {capacity: "ON_DEMAND"} and "tolerations" not in driver
    assert executor["nodeSelector"] == {capacity: "SPOT"}
    assert executor["tolerations"] == [SPOT_TAINT.toleration()]
    assert SPOT_TAINT.toleration()["effect"] == "NoSchedule"  # Kubernetes' spelling


def test_topic_arns_follow_the_clusters():
    cluster = "arn:aws:kafka:us-east-1:123456789012:cluster/mlplat-prod-events/abc-2"
    assert (
        topic_arn(cluster, "t")
        == "arn:aws:kafka:us-east-1:123456789012:topic/mlplat-prod-events/abc-2/t"
    )


def test_spark_is_told_the_memory_overhead_that_quotas_and_costs_count():
    """Left to Spark, a PySpark job's pods would request 40% over the heap on Kubernetes while
    the quota check counted another share: the job states the factor the declarations use."""
    from components.batch import JobPaths, spark_submit_parameters
    from infra.declarations.batch import BatchJob, pod_memory_gb

    job = BatchJob.model_validate(
        {
            "name": "nightly",
            "input": {"s3": "s3://b/in/", "format": "csv"},
            "output": "s3://b/out/",
            "on_demand": True,
            "size": {"executor_memory_gb": 10, "driver_memory_gb": 5},
        }
    )
    paths = JobPaths("s3://b/in/", "s3://b/out/", "s3://a/m.tar.gz", "s3://a/f/", "s3://a/t/")
    conf = dict(
        item.removeprefix("--conf ").split("=", 1)
        for item in spark_submit_parameters(job, paths, "image").split(" --conf ")
    )
    for role, heap in (("executor", 10), ("driver", 5)):
        factor = float(conf[f"spark.{role}.memoryOverheadFactor"])
        assert conf[f"spark.{role}.memory"] == f"{heap}g"
        assert float(pod_memory_gb(heap)) == heap * (1 + factor)  # above the 384 MiB floor
