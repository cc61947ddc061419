"""Observability rules: an alarm nobody is told about is not an alarm."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.framework import as_list, resource_rule

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"


@resource_rule(
    name="cloudwatch-alarm-has-actions",
    description="CloudWatch alarms notify someone: actions enabled, with an alarm action.",
    severity=Severity.MEDIUM,
    remediation="Set alarmActions to the environment's alerts SNS topic and leave "
    "actionsEnabled on.",
    resource_types=(METRIC_ALARM, COMPOSITE_ALARM),
)
def cloudwatch_alarm_has_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("actionsEnabled") is False:
        report("actionsEnabled is false")
    if not as_list(args.props.get("alarmActions")):
        report("no alarmActions")
