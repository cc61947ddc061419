"""The batch wiring's plain parts: names within AWS's limits at the longest names the
declarations allow, pod placement for spot, and the namespace quota for the team's jobs."""

from __future__ import annotations

import yaml

from components.batch import job_role_name, pod_templates, run_name
from components.batch_tenancy import batch_namespace, batch_quota
from components.cluster import SPOT_TAINT
from components.pipeline_permissions import batch_names, scheduler_role_name
from components.streaming import topic_arn
from infra.declarations import ModelDeclaration
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


def _model(name: str, *sizes: dict) -> ModelDeclaration:
    return ModelDeclaration(
        name=name,
        version=1,
        team="growth",
        framework="sklearn",
        framework_version="1.2-1",
        artifact="model_packages/churn_predictor/mlflow_model",
        serving="sagemaker-mme",
        resources={"memory_mb": 256},
        scaling={"min_instances": 1, "max_instances": 1},
        monthly_budget_usd=10,
        batch=[
            {
                "name": f"job{index}",
                "input": {"s3": "s3://b1b/in/", "format": "csv"},
                "output": f"s3://b1b/out{index}/",
                "on_demand": True,
                "size": size,
            }
            for index, size in enumerate(sizes)
        ],
    )


def test_the_batch_quota_holds_every_job_of_the_team_at_once():
    models = [
        _model("a", {"executors": 4, "executor_cores": 2, "executor_memory_gb": 4}),
        _model("b", {"executors": 1, "executor_cores": 1, "executor_memory_gb": 1}, {}),
    ]
    jobs = [job for model in models for job in model.batch]
    quota = batch_quota(models)
    # Each job: its executors' cores, the driver's core, EMR's job submitter (1 vCPU, 2 GiB).
    assert quota["requests.cpu"] == str(
        sum(j.size.executors * j.size.executor_cores + 2 for j in jobs)
    )
    assert quota["pods"] == str(sum(j.size.executors + 2 for j in jobs))
    memory_gib = sum(float(j.size.memory_gb) + 2 for j in jobs)
    assert int(quota["requests.memory"].removesuffix("Mi")) == int(memory_gib * 1024)


def test_topic_arns_follow_the_clusters():
    cluster = "arn:aws:kafka:us-east-1:123456789012:cluster/mlplat-prod-events/abc-2"
    assert (
        topic_arn(cluster, "t")
        == "arn:aws:kafka:us-east-1:123456789012:topic/mlplat-prod-events/abc-2/t"
    )
