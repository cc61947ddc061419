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
