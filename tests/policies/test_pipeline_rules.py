"""The Kafka and batch rules: a compliant resource passes, each one-property change fails by name.

The compliant job role, its policy and the scheduled StartJobRun input are built with the
functions the platform builds them with (components/batch.py), so the rules judge what ships.
"""

from __future__ import annotations

import json

import pytest
from policy_cases import DELETE, changed, export, resource

from components.batch import (
    START_JOB_RUN_TARGET,
    JobPaths,
    job_role_statements,
    job_trust,
    start_job_run_request,
)
from components.iam_documents import render
from infra.declarations import ModelDeclaration
from mlplat.policy_check import check
from policies.registry import policy_named

ACCOUNT = "123456789012"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
ROLE_NAME = "mlplat-prod-growth-batch-1234abcd"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
LOGS = f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/mlplat/prod/batch/growth"
PATHS = JobPaths(
    input_uri="s3://warehouse/subscribers/",
    output_uri="s3://warehouse/scores/",
    archive_uri="s3://artifacts/teams/growth/churn/churn-v2.tar.gz",
    fallback_uri="s3://artifacts/teams/growth/batch/spark-fallback/churn/nightly/",
    templates_uri="s3://artifacts/teams/growth/batch/pod-templates/",
)
MODEL = ModelDeclaration(
    name="churn",
    version=2,
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
            "name": "nightly",
            "input": {"s3": PATHS.input_uri, "format": "parquet"},
            "output": PATHS.output_uri,
            "schedule": "rate(1 day)",
        }
    ],
)


def violated(*entries, rule):
    return {v.policy for v in check(export(*entries), policies=[policy_named(rule)])}


# --- MSK ----------------------------------------------------------------------------------------


def msk_cluster() -> dict:
    return resource(
        "aws:msk/cluster:Cluster",
        "events",
        {
            "clusterName": "mlplat-prod-events",
            "clientAuthentication": {
                "sasl": {"iam": True, "scram": False},
                "unauthenticated": False,
            },
            "encryptionInfo": {
                "encryptionAtRestKmsKeyArn": KEY,
                "encryptionInTransit": {"clientBroker": "TLS", "inCluster": True},
            },
            "brokerNodeGroupInfo": {"connectivityInfo": {"publicAccess": {"type": "DISABLED"}}},
            "loggingInfo": {
                "brokerLogs": {"cloudwatchLogs": {"enabled": True, "logGroup": "/mlplat/prod/msk"}}
            },
        },
    )


MSK_CASES = [
    ("msk-iam-auth", "clientAuthentication.sasl.iam", False),
    ("msk-iam-auth", "clientAuthentication.sasl", DELETE),
    ("msk-iam-auth", "clientAuthentication.unauthenticated", True),
    ("msk-tls-in-transit", "encryptionInfo.encryptionInTransit.clientBroker", "TLS_PLAINTEXT"),
    ("msk-tls-in-transit", "encryptionInfo.encryptionInTransit.clientBroker", "PLAINTEXT"),
    ("msk-tls-in-transit", "encryptionInfo.encryptionInTransit.inCluster", False),
    ("msk-customer-kms", "encryptionInfo.encryptionAtRestKmsKeyArn", DELETE),
    (
        "msk-not-public",
        "brokerNodeGroupInfo.connectivityInfo.publicAccess.type",
        "SERVICE_PROVIDED_EIPS",
    ),
    ("msk-broker-logs", "loggingInfo.brokerLogs.cloudwatchLogs.enabled", False),
    ("msk-broker-logs", "loggingInfo", DELETE),
]


@pytest.mark.parametrize(("rule", "path", "value"), MSK_CASES)
def test_msk_rules(rule, path, value):
    assert violated(msk_cluster(), rule=rule) == set()
    assert violated(changed(msk_cluster(), path, value), rule=rule) == {rule}


def test_msk_defaults_that_are_safe_pass():
    """MSK's own defaults: TLS client-broker and in-cluster encryption, no public access."""
    cluster = changed(msk_cluster(), "encryptionInfo.encryptionInTransit", DELETE)
    cluster = changed(cluster, "brokerNodeGroupInfo", DELETE)
    assert violated(cluster, rule="msk-tls-in-transit") == set()
    assert violated(cluster, rule="msk-not-public") == set()


# --- EMR on EKS job roles -----------------------------------------------------------------------


def job_role(trust: str | None = None) -> dict:
    document = trust or job_trust(PROVIDER, ISSUER, "growth-batch", ACCOUNT, ROLE_NAME)
    return resource(
        "aws:iam/role:Role", "job-role", {"name": ROLE_NAME, "assumeRolePolicy": document}
    )


def job_policy(statements: list[dict] | None = None) -> dict:
    document = json.loads(render(job_role_statements(PATHS, kms_key_arn=KEY, log_group_arn=LOGS)))
    if statements is not None:
        document["Statement"] = statements
    return resource(
        "aws:iam/rolePolicy:RolePolicy",
        "job-access",
        {"role": ROLE_NAME, "name": "job-access", "policy": json.dumps(document)},
    )


def _statements() -> list[dict]:
    return json.loads(job_policy()["inputs"]["policy"])["Statement"]


def _with(index: int, **changes) -> list[dict]:
    statements = _statements()
    statements[index] = {**statements[index], **changes}
    return statements


def _sid(name: str) -> int:
    return next(i for i, s in enumerate(_statements()) if s["Sid"] == name)


ROLE_CASES = {
    "whole input bucket": lambda: [
        job_role(),
        job_policy(_with(_sid("ReadInput"), Resource="arn:aws:s3:::warehouse/*")),
    ],
    "every bucket": lambda: [
        job_role(),
        job_policy(_with(_sid("WriteOutput"), Resource="arn:aws:s3:::*")),
    ],
    "action wildcard": lambda: [job_role(), job_policy(_with(_sid("ReadInput"), Action="s3:*"))],
    "listing without a prefix": lambda: [
        job_role(),
        job_policy(_with(_sid("List0"), Condition={})),
    ],
    "any namespace": lambda: [
        job_role(job_trust(PROVIDER, ISSUER, "*", ACCOUNT, ROLE_NAME)),
        job_policy(),
    ],
    "no audience": lambda: [
        job_role(
            job_trust(PROVIDER, ISSUER, "growth-batch", ACCOUNT, ROLE_NAME).replace(
                f'"{ISSUER}:aud"', f'"{ISSUER}:amr"'
            )
        ),
        job_policy(),
    ],
}


def test_the_platforms_job_role_is_scoped():
    assert violated(job_role(), job_policy(), rule="emr-job-role-scoped") == set()


@pytest.mark.parametrize("case", sorted(ROLE_CASES))
def test_a_job_role_reaching_beyond_its_prefixes_or_namespace_fails(case):
    assert violated(*ROLE_CASES[case](), rule="emr-job-role-scoped") == {"emr-job-role-scoped"}


def test_roles_not_trusted_by_emr_are_not_judged_as_job_roles():
    other = job_role(job_trust(PROVIDER, ISSUER, "*", ACCOUNT, ROLE_NAME).replace("emr-", "x-"))
    wide = job_policy(_with(_sid("ReadInput"), Resource="arn:aws:s3:::*"))
    assert violated(other, wide, rule="emr-job-role-scoped") == set()


# --- EMR on EKS runs log ------------------------------------------------------------------------


def schedule(request: dict | None = None) -> dict:
    body = request or start_job_run_request(
        MODEL,
        MODEL.batch[0],
        PATHS,
        virtual_cluster_id="abc",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}",
        image="image",
        log_group="/mlplat/prod/batch/growth",
        run_id="<aws.scheduler.execution-id>",
    )
    return resource(
        "aws:scheduler/schedule:Schedule",
        "nightly",
        {"target": {"arn": START_JOB_RUN_TARGET, "input": json.dumps(body)}},
    )


def job_template() -> dict:
    return resource(
        "aws:emrcontainers/jobTemplate:JobTemplate",
        "nightly-template",
        {
            "jobTemplateData": {
                "configurationOverrides": {
                    "monitoringConfiguration": {
                        "cloudWatchMonitoringConfiguration": {"logGroupName": "/mlplat/prod/b"}
                    }
                }
            }
        },
    )


def test_job_runs_log():
    assert violated(schedule(), job_template(), rule="emr-job-logs-on") == set()
    silent = {**json.loads(schedule()["inputs"]["target"]["input"]), "ConfigurationOverrides": {}}
    assert violated(schedule(silent), rule="emr-job-logs-on") == {"emr-job-logs-on"}
    path = "jobTemplateData.configurationOverrides.monitoringConfiguration"
    assert violated(changed(job_template(), path, DELETE), rule="emr-job-logs-on") == {
        "emr-job-logs-on"
    }


def test_schedules_of_other_targets_are_not_judged():
    other = changed(schedule(), "target.arn", "arn:aws:scheduler:::aws-sdk:sqs:sendMessage")
    other = changed(other, "target.input", "{}")
    assert violated(other, rule="emr-job-logs-on") == set()
