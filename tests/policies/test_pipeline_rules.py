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
    base36,
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


def messages(*entries, rule):
    return [v.message for v in check(export(*entries), policies=[policy_named(rule)])]


IAM_OFF = "IAM access control (clientAuthentication.sasl.iam) is off"
MSK_CASES = [
    ("msk-iam-auth", "clientAuthentication.sasl.iam", False, IAM_OFF),
    ("msk-iam-auth", "clientAuthentication.sasl", DELETE, IAM_OFF),
    ("msk-iam-auth", "clientAuthentication", DELETE, IAM_OFF),
    (
        "msk-iam-auth",
        "clientAuthentication.unauthenticated",
        True,
        "unauthenticated clients are admitted (clientAuthentication.unauthenticated)",
    ),
    (
        "msk-tls-in-transit",
        "encryptionInfo.encryptionInTransit.clientBroker",
        "TLS_PLAINTEXT",
        "client-broker traffic allows TLS_PLAINTEXT (only TLS)",
    ),
    (
        "msk-tls-in-transit",
        "encryptionInfo.encryptionInTransit.clientBroker",
        "PLAINTEXT",
        "client-broker traffic allows PLAINTEXT (only TLS)",
    ),
    (
        "msk-tls-in-transit",
        "encryptionInfo.encryptionInTransit.inCluster",
        False,
        "broker-broker traffic is not encrypted (encryptionInTransit.inCluster)",
    ),
    (
        "msk-customer-kms",
        "encryptionInfo.encryptionAtRestKmsKeyArn",
        DELETE,
        "at-rest encryption uses the AWS managed key, not a customer managed key",
    ),
    (
        "msk-not-public",
        "brokerNodeGroupInfo.connectivityInfo.publicAccess.type",
        "SERVICE_PROVIDED_EIPS",
        "brokers are reachable from the internet (publicAccess.type SERVICE_PROVIDED_EIPS)",
    ),
    (
        "msk-broker-logs",
        "loggingInfo.brokerLogs.cloudwatchLogs.enabled",
        False,
        "broker logs are off (loggingInfo.brokerLogs)",
    ),
    ("msk-broker-logs", "loggingInfo", DELETE, "broker logs are off (loggingInfo.brokerLogs)"),
]


@pytest.mark.parametrize(("rule", "path", "value", "message"), MSK_CASES)
def test_msk_rules(rule, path, value, message):
    assert messages(msk_cluster(), rule=rule) == []
    assert messages(changed(msk_cluster(), path, value), rule=rule) == [message]


@pytest.mark.parametrize("sink", ["cloudwatchLogs", "s3", "firehose"])
def test_broker_logs_may_go_to_any_one_sink(sink):
    """MSK delivers broker logs to CloudWatch Logs, S3 or Firehose (BrokerLogs in the MSK API)."""
    only = {"cloudwatchLogs": {"enabled": False}, sink: {"enabled": True, "target": "t"}}
    cluster = changed(msk_cluster(), "loggingInfo.brokerLogs", only)
    assert messages(cluster, rule="msk-broker-logs") == []


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


SUBJECT = "system:serviceaccount:{}:emr-containers-sa-*-*-" + f"{ACCOUNT}-{base36(ROLE_NAME)}"
LATE_WILDCARD = {"Sid": "Late", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
# Each case: the role and its policy, and the problems the rule names (after "job role <name>: ").
ROLE_CASES = {
    "whole input bucket": (
        lambda: [
            job_role(),
            job_policy(_with(_sid("ReadInput"), Resource="arn:aws:s3:::warehouse/*")),
        ],
        ["statement 'ReadInput': s3:GetObject on arn:aws:s3:::warehouse/*, a whole bucket"],
    ),
    "every bucket": (
        lambda: [job_role(), job_policy(_with(_sid("WriteOutput"), Resource="arn:aws:s3:::*"))],
        [
            "statement 'WriteOutput': s3:GetObject, s3:PutObject, s3:DeleteObject, "
            "s3:AbortMultipartUpload on arn:aws:s3:::*, a whole bucket"
        ],
    ),
    # after statements without S3 actions (the key, the logs): every statement is judged
    "any resource, last": (
        lambda: [job_role(), job_policy([*_statements(), LATE_WILDCARD])],
        ["statement 'Late': s3:GetObject on *, a whole bucket"],
    ),
    "service wildcard": (
        lambda: [
            job_role(),
            job_policy(_with(_sid("ReadInput"), Action=["s3:GetObject", "s3:*"])),
        ],
        [
            "statement 'ReadInput' grants an action wildcard (s3:GetObject, s3:*)",
            "statement 'ReadInput': s3:ListBucket without an s3:prefix condition",
        ],
    ),
    "every action": (
        lambda: [job_role(), job_policy(_with(_sid("Logs"), Action="*"))],
        ["statement 'Logs' grants an action wildcard (*)"],
    ),
    "listing without a prefix": (
        lambda: [job_role(), job_policy(_with(_sid("List0"), Condition={}))],
        ["statement 'List0': s3:ListBucket without an s3:prefix condition"],
    ),
    "unnamed statement": (
        lambda: [
            job_role(),
            job_policy(
                [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::w"}]
            ),
        ],
        ["a statement: s3:ListBucket without an s3:prefix condition"],
    ),
    "any namespace": (
        lambda: [job_role(job_trust(PROVIDER, ISSUER, "*", ACCOUNT, ROLE_NAME)), job_policy()],
        [f"trust admits EMR service accounts of any namespace ({SUBJECT.format('*')})"],
    ),
    "no namespace": (
        lambda: [job_role(job_trust(PROVIDER, ISSUER, "", ACCOUNT, ROLE_NAME)), job_policy()],
        [f"trust admits EMR service accounts of any namespace ({SUBJECT.format('')})"],
    ),
    # every statement's subjects are judged, not only the last one's
    "any namespace, then one": (
        lambda: [
            job_role(
                json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            *json.loads(job_trust(PROVIDER, ISSUER, "*", ACCOUNT, ROLE_NAME))[
                                "Statement"
                            ],
                            *json.loads(job_trust(PROVIDER, ISSUER, "b", ACCOUNT, ROLE_NAME))[
                                "Statement"
                            ],
                        ],
                    }
                )
            ),
            job_policy(),
        ],
        [f"trust admits EMR service accounts of any namespace ({SUBJECT.format('*')})"],
    ),
    "no audience": (
        lambda: [
            job_role(
                job_trust(PROVIDER, ISSUER, "growth-batch", ACCOUNT, ROLE_NAME).replace(
                    f'"{ISSUER}:aud"', f'"{ISSUER}:amr"'
                )
            ),
            job_policy(),
        ],
        ["trust does not check the token's audience (<issuer>:aud)"],
    ),
}


def test_the_platforms_job_role_is_scoped():
    assert violated(job_role(), job_policy(), rule="emr-job-role-scoped") == set()


@pytest.mark.parametrize("case", sorted(ROLE_CASES))
def test_a_job_role_reaching_beyond_its_prefixes_or_namespace_fails(case):
    build, problems = ROLE_CASES[case]
    assert messages(*build(), rule="emr-job-role-scoped") == [
        f"job role {ROLE_NAME}: {problem}" for problem in problems
    ]


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


TEMPLATE_SILENT = "the job template's runs log nowhere (no monitoring configuration)"
SCHEDULE_SILENT = "the scheduled runs log nowhere (no MonitoringConfiguration in the input)"


def test_job_runs_log():
    assert messages(schedule(), job_template(), rule="emr-job-logs-on") == []
    silent = {**json.loads(schedule()["inputs"]["target"]["input"]), "ConfigurationOverrides": {}}
    assert messages(schedule(silent), rule="emr-job-logs-on") == [SCHEDULE_SILENT]
    path = "jobTemplateData.configurationOverrides.monitoringConfiguration"
    assert messages(changed(job_template(), path, DELETE), rule="emr-job-logs-on") == [
        TEMPLATE_SILENT
    ]
    assert messages(changed(job_template(), "jobTemplateData", DELETE), rule="emr-job-logs-on") == [
        TEMPLATE_SILENT
    ]


# A run logs when CloudWatch (a log group) or S3 (a log URI) is configured; a configuration
# without its destination logs nowhere. Templates carry Pulumi's camelCase properties, schedules
# the StartJobRun request's own (PascalCase) JSON.
MONITORING = [
    ({"cloudWatchMonitoringConfiguration": {"logGroupName": "/b"}}, True),
    ({"s3MonitoringConfiguration": {"logUri": "s3://logs/b/"}}, True),
    ({"cloudWatchMonitoringConfiguration": {"logStreamNamePrefix": "b"}}, False),
    ({"s3MonitoringConfiguration": {}}, False),
    ({"s3MonitoringConfiguration": {"logUri": ""}}, False),
    ({"persistentAppUi": "ENABLED"}, False),
]


def _pascal(value):
    if isinstance(value, dict):
        return {key[0].upper() + key[1:]: _pascal(item) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("monitoring", "logs"), MONITORING)
def test_a_template_logs_where_its_monitoring_configuration_says(monitoring, logs):
    path = "jobTemplateData.configurationOverrides.monitoringConfiguration"
    template = changed(job_template(), path, monitoring)
    assert messages(template, rule="emr-job-logs-on") == ([] if logs else [TEMPLATE_SILENT])


@pytest.mark.parametrize(("monitoring", "logs"), MONITORING)
def test_a_schedule_logs_where_its_monitoring_configuration_says(monitoring, logs):
    request = json.loads(schedule()["inputs"]["target"]["input"])
    request["ConfigurationOverrides"] = {"MonitoringConfiguration": _pascal(monitoring)}
    expected = [] if logs else [SCHEDULE_SILENT]
    assert messages(schedule(request), rule="emr-job-logs-on") == expected


def test_a_schedule_starting_a_run_without_a_request_logs_nowhere():
    assert messages(changed(schedule(), "target.input", DELETE), rule="emr-job-logs-on") == [
        SCHEDULE_SILENT
    ]
    assert messages(changed(schedule(), "target.input", "{not json"), rule="emr-job-logs-on") == [
        "the schedule's StartJobRun input is not JSON"
    ]


def test_schedules_of_other_targets_are_not_judged():
    other = changed(schedule(), "target.arn", "arn:aws:scheduler:::aws-sdk:sqs:sendMessage")
    other = changed(other, "target.input", "{}")
    assert violated(other, rule="emr-job-logs-on") == set()


def test_a_job_role_without_a_name_is_named_by_its_resource_and_reported_at_it():
    unnamed = changed(
        job_role(job_trust(PROVIDER, ISSUER, "*", ACCOUNT, ROLE_NAME)), "name", DELETE
    )
    found = check(export(unnamed, job_policy()), policies=[policy_named("emr-job-role-scoped")])
    assert [(v.urn, v.message) for v in found] == [
        (
            unnamed["urn"],
            "job role job-role: trust admits EMR service accounts of any namespace "
            f"({SUBJECT.format('*')})",
        )
    ]
