"""Model lifecycle rules: spot training checkpoints, lifecycle resources a team can be held to,
drift alarms that reach the team (components/lifecycle)."""

from __future__ import annotations

import json

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, Severity

from infra.declarations.tags import TAG_TEAM
from policies.framework import as_list, environment_of, resource_rule

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SCHEDULE = "aws:scheduler/schedule:Schedule"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DRIFT_NAMESPACE = "mlplat/Drift"


def _steps(steps) -> list[dict]:
    found = []
    for step in as_list(steps):
        if not isinstance(step, dict):
            continue
        found.append(step)
        arguments = step.get("Arguments") or {}
        if step.get("Type") == "Condition":
            found += _steps(arguments.get("IfSteps")) + _steps(arguments.get("ElseSteps"))
    return found


@resource_rule(
    name="sagemaker-spot-training-checkpoints",
    description="A pipeline's spot training steps checkpoint to S3 and may wait for capacity at "
    "least as long as they may run (MaxWaitTimeInSeconds >= MaxRuntimeInSeconds).",
    severity=Severity.HIGH,
    remediation="Declare retraining with checkpoints (the default with spot) and max_wait_seconds "
    "of at least max_runtime_seconds; components/lifecycle/definitions.py writes both.",
    resource_types=(PIPELINE,),
    enforcement=EnforcementLevel.MANDATORY,
)
def sagemaker_spot_training_checkpoints(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    text = args.props.get("pipelineDefinition")
    if not isinstance(text, str):
        return  # unknown in a preview, or kept in S3: nothing to judge here
    try:
        definition = json.loads(text)
    except ValueError:
        report("pipelineDefinition is not JSON")
        return
    for step in _steps(definition.get("Steps")):
        arguments = step.get("Arguments") or {}
        if step.get("Type") != "Training" or arguments.get("EnableManagedSpotTraining") is not True:
            continue
        name = step.get("Name")
        if not (arguments.get("CheckpointConfig") or {}).get("S3Uri"):
            report(f"step {name}: spot training without CheckpointConfig.S3Uri")
        stopping = arguments.get("StoppingCondition") or {}
        wait, runtime = stopping.get("MaxWaitTimeInSeconds"), stopping.get("MaxRuntimeInSeconds")
        if wait is None:
            report(f"step {name}: spot training without StoppingCondition.MaxWaitTimeInSeconds")
        elif isinstance(wait, int) and isinstance(runtime, int) and wait < runtime:
            report(f"step {name}: MaxWaitTimeInSeconds {wait} < MaxRuntimeInSeconds {runtime}")


@resource_rule(
    name="lifecycle-pipelines-and-schedules-tagged",
    description=f"Pipelines carry {TAG_TEAM} (a team's deployer is scoped by it) and schedules, "
    "which take no tags, live in a schedule group (tagged) rather than the default group.",
    severity=Severity.MEDIUM,
    remediation="Create pipelines and schedules under the team's TeamLifecycle component, which "
    "owns them for the team and puts schedules in the team's schedule group.",
    resource_types=(PIPELINE, SCHEDULE),
)
def lifecycle_pipelines_and_schedules_tagged(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.resource_type == PIPELINE:
        if not (args.props.get("tags") or {}).get(TAG_TEAM):
            report(f"pipeline without a {TAG_TEAM} tag")
    elif args.props.get("groupName") in (None, "", "default"):
        report("schedule in the default group, which carries no tags")


@resource_rule(
    name="drift-alarm-notifies-team",
    description=f"An alarm on {DRIFT_NAMESPACE} notifies its team's topic "
    "(mlplat-<env>-<team>-alerts) and is owned by a team.",
    severity=Severity.MEDIUM,
    remediation="Create drift alarms with TeamLifecycle, which points them at the team's topic "
    "from the platform's contract (team_alert_topic_arns).",
    resource_types=(METRIC_ALARM,),
)
def drift_alarm_notifies_team(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("namespace") != DRIFT_NAMESPACE:
        return
    team = (args.props.get("tags") or {}).get(TAG_TEAM)
    if not team:
        report(f"drift alarm without a {TAG_TEAM} tag: whose model is it?")
        return
    topic = f"mlplat-{environment_of(args.urn)}-{team}-alerts"
    actions = [str(a) for a in as_list(args.props.get("alarmActions"))]
    if not any(a.startswith("arn:") and a.split(":")[-1] == topic for a in actions):
        report(f"drift alarm does not notify {topic} (actions: {', '.join(actions) or 'none'})")
