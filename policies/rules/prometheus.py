"""Prometheus (AMP) rules: metrics stored encrypted and logged, collected from inside the VPC,
and every model on EKS watched by alerts that someone owns.

The alert rules are judged as AMP holds them: the rules file (``data``) of each rule groups
namespace, read with YAML. A rule covers a model when the model matcher of its expression
(``model=~"a|b"`` or ``model="a"``) matches the model's name, as Prometheus would.
"""

from __future__ import annotations

import re

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from lifecycle.monitoring import metrics
from policies.framework import as_list, dig, of_types, resource_rule, stack_rule

WORKSPACE = "aws:amp/workspace:Workspace"
SCRAPER = "aws:amp/scraper:Scraper"
RULE_NAMESPACE = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
MODEL_LABEL = "mlplat.io/model"
OWNER_LABEL = "team"
# What an alert must read to watch a model's latency, and its errors.
LATENCY_METRICS = (metrics.REQUEST_DURATION, metrics.LATENCY_P99)
ERROR_METRICS = (metrics.RESPONSES, metrics.ERROR_RATE)
_MODEL_MATCHER = re.compile(r'\bmodel\s*(=~|=)\s*"([^"]*)"')


@resource_rule(
    name="amp-workspace-kms-key",
    description="AMP workspaces are encrypted with a customer managed KMS key.",
    severity=Severity.HIGH,
    remediation="Set kmsKeyArn to the platform key (components.monitoring does).",
    resource_types=(WORKSPACE,),
    enforcement=EnforcementLevel.MANDATORY,
)
def amp_workspace_kms_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.props.get("kmsKeyArn"):
        report("no kmsKeyArn: the workspace is encrypted with an AWS owned key")


@resource_rule(
    name="amp-workspace-logging",
    description="AMP workspaces log rule evaluation and alert manager errors to CloudWatch Logs.",
    severity=Severity.MEDIUM,
    remediation="Set loggingConfiguration.logGroupArn (a log group ARN ending in ':*').",
    resource_types=(WORKSPACE,),
)
def amp_workspace_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not dig(args.props, "loggingConfiguration", "logGroupArn"):
        report("no loggingConfiguration.logGroupArn: failing rules and alerts go unseen")


def _public_subnet_ids(resources: list[PolicyResource]) -> set[str]:
    """Subnets whose route table sends 0.0.0.0/0 to an internet gateway."""
    to_internet = set()
    for table in of_types(resources, ROUTE_TABLE):
        routes = as_list(table.props.get("routes"))
        if any(str(dig(r, "gatewayId", default="")).startswith("igw-") for r in routes):
            to_internet.add(_output_id(table))
    for route in of_types(resources, ROUTE):
        if str(route.props.get("gatewayId", "")).startswith("igw-"):
            to_internet.add(route.props.get("routeTableId"))
    return {
        a.props.get("subnetId")
        for a in of_types(resources, ASSOCIATION)
        if a.props.get("routeTableId") in to_internet
    }


def _output_id(resource: PolicyResource) -> str | None:
    value = resource.props.get("id")
    return value if isinstance(value, str) else None


@stack_rule(
    name="amp-scraper-private-subnets",
    description="The AMP managed scraper's network interfaces are in private subnets of this "
    "stack (no route to an internet gateway).",
    severity=Severity.HIGH,
    remediation="Pass the cluster's private subnet ids as source.eks.subnetIds.",
    enforcement=EnforcementLevel.MANDATORY,
)
def amp_scraper_private_subnets(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    known = {_output_id(s) for s in of_types(resources, SUBNET)} - {None}
    if not known:
        return  # ids not resolved (a first preview): judged once they are
    public = _public_subnet_ids(resources)
    for scraper in of_types(resources, SCRAPER):
        subnets = as_list(dig(scraper.props, "source", "eks", "subnetIds"))
        if not subnets:
            report("no source.eks.subnetIds", scraper.urn)
        for subnet in subnets:
            if not isinstance(subnet, str):
                continue  # unknown during a preview: judged once resolved
            if subnet in public:
                report(f"subnet {subnet} routes to an internet gateway", scraper.urn)
            elif subnet not in known:
                report(f"subnet {subnet} is not a subnet of this stack", scraper.urn)


def alerting_rules(data: object) -> list[dict]:
    """The alerting rules of a rules file (``data`` of a rule groups namespace)."""
    if not isinstance(data, str):
        return []
    try:
        document = yaml.safe_load(data) or {}
    except yaml.YAMLError:
        return []
    return [
        rule
        for group in as_list(document.get("groups"))
        for rule in as_list(dig(group, "rules"))
        if isinstance(rule, dict) and "alert" in rule
    ]


def covers(rule: dict, model: str) -> bool:
    """Whether the rule's model matcher selects ``model`` (anchored, as PromQL's are)."""
    for operator, value in _MODEL_MATCHER.findall(str(rule.get("expr", ""))):
        if operator == "=" and value == model:
            return True
        if operator == "=~" and re.fullmatch(value, model):
            return True
    return False


def _reads(rule: dict, names: tuple[str, ...]) -> bool:
    return any(name in str(rule.get("expr", "")) for name in names)


@stack_rule(
    name="eks-model-latency-and-error-alerts",
    description="Every model served on EKS is covered by an AMP alert on its latency and one on "
    "its errors, in the stack holding its Deployment (the single stack, or the team's serving "
    "shard, which holds its models' rule namespaces).",
    severity=Severity.HIGH,
    remediation="Turn mlplat:monitoring.prometheus on; the rules are generated from the "
    "declarations (lifecycle/monitoring).",
    enforcement=EnforcementLevel.MANDATORY,
)
def eks_model_alerts(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    rules = [
        r
        for ns in of_types(resources, RULE_NAMESPACE)
        for r in alerting_rules(ns.props.get("data"))
    ]
    for deployment in of_types(resources, DEPLOYMENT):
        model = dig(deployment.props, "metadata", "labels", MODEL_LABEL)
        if not model:
            continue
        covering = [r for r in rules if covers(r, model)]
        if not any(_reads(r, LATENCY_METRICS) for r in covering):
            report(f"model {model}: no latency alert in an AMP rule namespace", deployment.urn)
        if not any(_reads(r, ERROR_METRICS) for r in covering):
            report(f"model {model}: no error alert in an AMP rule namespace", deployment.urn)


@resource_rule(
    name="prometheus-alert-has-owner",
    description="Every alerting rule carries the owning team's label, which the alert manager "
    "routes to that team's topic.",
    severity=Severity.MEDIUM,
    remediation="Give each alert labels.team (lifecycle/monitoring/prometheus_rules does).",
    resource_types=(RULE_NAMESPACE,),
    enforcement=EnforcementLevel.MANDATORY,
)
def prometheus_alert_has_owner(args: ResourceValidationArgs, report: ReportViolation) -> None:
    data = args.props.get("data")
    if isinstance(data, str):
        try:
            yaml.safe_load(data)
        except yaml.YAMLError as error:
            report(f"data is not YAML: {error}")
            return
    for rule in alerting_rules(data):
        if not dig(rule, "labels", OWNER_LABEL):
            report(f"alert {rule['alert']}: no labels.{OWNER_LABEL}")
