"""Batch scoring on EMR on EKS: job roles that reach only their own data, and runs that log.

A job execution role is recognised by its trust: the web identities of EMR on EKS's service
accounts (``emr-containers-sa-...``; EMR on EKS Development Guide, iam-execution-role.html). Its
trust must name one namespace and the STS audience, and its permissions must be scoped to key
prefixes: no action wildcard, no object access to a whole bucket (``arn:aws:s3:::b/*``) or every
bucket, and every ListBucket limited by an ``s3:prefix`` condition.

A run's logs: a job template, and a schedule starting one (Scheduler's universal target for
StartJobRun), configure CloudWatch or S3 monitoring, or the driver's and executors' logs go
nowhere once their pods are gone.
"""

from __future__ import annotations

import json
import re

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.framework import as_list, dig, resource_rule, stack_rule
from policies.rules.iam import Statement, parse_document
from policies.rules.iam_permissions import role_statements
from policies.rules.iam_quotas import ROLE

JOB_TEMPLATE = "aws:emrcontainers/jobTemplate:JobTemplate"
SCHEDULE = "aws:scheduler/schedule:Schedule"
START_JOB_RUN = "arn:aws:scheduler:::aws-sdk:emrcontainers:startJobRun"
EMR_SUBJECT = re.compile(r"^system:serviceaccount:(?P<namespace>[^:]*):emr-containers-sa-")
# Object ARNs: arn:aws:s3:::<bucket>/<key pattern>; scoped when the key has a fixed prefix.
S3_OBJECT = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<bucket>[^/]+)/(?P<key>.*)$")


def _trust_subjects(role: PolicyResource) -> list[str]:
    subjects = []
    for statement in parse_document(role.props.get("assumeRolePolicy")):
        for keys in statement.condition.values():
            for key, values in dict(keys).items():
                if key.endswith(":sub"):
                    subjects += [str(v) for v in as_list(values)]
    return subjects


def is_job_role(role: PolicyResource) -> bool:
    return any(EMR_SUBJECT.match(subject) for subject in _trust_subjects(role))


def trust_problems(role: PolicyResource) -> list[str]:
    problems = []
    for subject in _trust_subjects(role):
        match = EMR_SUBJECT.match(subject)
        if match and (not match["namespace"] or "*" in match["namespace"]):
            problems.append(f"trust admits EMR service accounts of any namespace ({subject})")
    audiences = [
        key
        for statement in parse_document(role.props.get("assumeRolePolicy"))
        for keys in statement.condition.values()
        for key in dict(keys)
        if key.endswith(":aud")
    ]
    if not audiences:
        problems.append("trust does not check the token's audience (<issuer>:aud)")
    return problems


def scope_problems(statements: list[Statement]) -> list[str]:
    problems = []
    for statement in (s for s in statements if s.allows):
        label = statement.label
        if any(a == "*" or a.endswith(":*") for a in statement.actions):
            problems.append(f"{label} grants an action wildcard ({', '.join(statement.actions)})")
        s3_actions = [a for a in statement.actions if a.lower().startswith("s3:")]
        if not s3_actions:
            continue
        for resource in statement.resources:
            match = S3_OBJECT.match(resource)
            if resource in ("*", "arn:aws:s3:::*") or (match and match["key"].startswith("*")):
                problems.append(f"{label}: {', '.join(s3_actions)} on {resource}, a whole bucket")
        lists = any(statement.grants(a) for a in ("s3:ListBucket",))
        prefixed = any("s3:prefix" in dict(keys) for keys in statement.condition.values())
        if lists and not prefixed:
            problems.append(f"{label}: s3:ListBucket without an s3:prefix condition")
    return problems


@stack_rule(
    name="emr-job-role-scoped",
    description="EMR on EKS job execution roles are trusted by one namespace's EMR service "
    "accounts and reach only key prefixes (their input, output and model archive).",
    severity=Severity.HIGH,
    remediation="Build job roles with components/batch.py (job_trust, job_role_statements): "
    "name the namespace in the trust, and grant objects and listings under key prefixes only.",
    enforcement=EnforcementLevel.MANDATORY,
)
def emr_job_role_scoped(args: StackValidationArgs, report: ReportViolation) -> None:
    for role in (r for r in args.resources if r.resource_type == ROLE and is_job_role(r)):
        name = role.props.get("name") or role.urn.rsplit("::", 1)[-1]
        problems = trust_problems(role) + scope_problems(role_statements(role, args.resources))
        for problem in problems:
            report(f"job role {name}: {problem}", role.urn)


def _monitoring(configuration: object, *path: str) -> bool:
    monitoring = dig(configuration, *path, default={})
    cloudwatch = dig(monitoring, "cloudWatchMonitoringConfiguration", "logGroupName") or dig(
        monitoring, "CloudWatchMonitoringConfiguration", "LogGroupName"
    )
    s3 = dig(monitoring, "s3MonitoringConfiguration", "logUri") or dig(
        monitoring, "S3MonitoringConfiguration", "LogUri"
    )
    return bool(cloudwatch or s3)


@resource_rule(
    name="emr-job-logs-on",
    description="EMR on EKS job templates, and schedules that start job runs, send the runs' "
    "logs to CloudWatch Logs or S3.",
    severity=Severity.MEDIUM,
    remediation="Set the monitoring configuration (CloudWatchMonitoringConfiguration.LogGroupName"
    " or S3MonitoringConfiguration.LogUri) of the job's configuration overrides.",
    resource_types=(JOB_TEMPLATE, SCHEDULE),
)
def emr_job_logs_on(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == JOB_TEMPLATE:
        data = args.props.get("jobTemplateData") or {}
        if not _monitoring(data, "configurationOverrides", "monitoringConfiguration"):
            report("the job template's runs log nowhere (no monitoring configuration)")
        return
    target = args.props.get("target") or {}
    if target.get("arn") != START_JOB_RUN:
        return
    try:
        request = json.loads(target.get("input") or "{}")
    except json.JSONDecodeError:
        report("the schedule's StartJobRun input is not JSON")
        return
    if not _monitoring(request, "ConfigurationOverrides", "MonitoringConfiguration"):
        report("the scheduled runs log nowhere (no MonitoringConfiguration in the input)")
