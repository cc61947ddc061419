"""What the monitoring, tagging, protection, budget and layer rules say, and where: each on the
shapes it covers (a route to the internet declared apart from its table, a model matched by
equality, a budget missing one notification or its subscribers, a serving stack)."""

from __future__ import annotations

import pytest
import yaml
from policy_cases import (
    DELETE,
    alarm,
    bucket_stack,
    budget,
    changed,
    document,
    eks_component_cluster,
    export,
    iam_policy,
    in_stack,
    kms_key,
    resource,
    role_policy_attachment,
    table,
    tags,
    topic,
    vpc_cni_addon,
)
from test_prometheus_policies import deployment, network, scraper, workspace

from lifecycle.monitoring import metrics
from mlplat.policy_check import check
from policies.registry import policy_named
from policies.rules.prometheus import covers


def found(rule: str, *entries: dict, stack: str = "prod") -> list[tuple[str, str]]:
    """(resource name, message) of each violation, in the order reported."""
    violations = check(export(*entries, stack=stack), policies=[policy_named(rule)])
    return [(v.urn.rsplit("::", 1)[-1], v.message) for v in violations]


def messages(rule: str, *entries: dict, stack: str = "prod") -> list[str]:
    return [message for _, message in found(rule, *entries, stack=stack)]


# --- AMP workspaces, the scraper's subnets -----------------------------------------------------


def test_a_workspace_says_which_setting_it_lacks():
    assert messages("amp-workspace-kms-key", changed(workspace(), "kmsKeyArn", DELETE)) == [
        "no kmsKeyArn: the workspace is encrypted with an AWS owned key"
    ]
    for logging in (DELETE, {}, {"logGroupArn": None}):
        unlogged = changed(workspace(), "loggingConfiguration", logging)
        assert messages("amp-workspace-logging", unlogged) == [
            "no loggingConfiguration.logGroupArn: failing rules and alerts go unseen"
        ]


def test_a_route_to_the_internet_declared_apart_from_its_table_makes_its_subnets_public():
    """A route table's routes may be inline or separate aws.ec2.Route resources."""
    entries = network()
    private_table = changed(entries[0], "routes", [])
    igw_route = resource(
        "aws:ec2/route:Route",
        "private-default",
        {"routeTableId": "rtb-private", "destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"},
    )
    nat_route = changed(igw_route, "gatewayId", DELETE)
    nat_route = changed(nat_route, "natGatewayId", "nat-1")
    rule = "amp-scraper-private-subnets"
    assert found(rule, private_table, *entries[1:], nat_route, scraper()) == []
    assert found(rule, private_table, *entries[1:], igw_route, scraper()) == [
        ("scraper", "subnet subnet-private routes to an internet gateway")
    ]


def test_each_subnet_of_a_scraper_is_judged_at_the_scraper():
    rule = "amp-scraper-private-subnets"
    subnets = (None, "subnet-public", "subnet-elsewhere")  # None: not resolved yet
    assert found(rule, *network(), scraper(subnets)) == [
        ("scraper", "subnet subnet-public routes to an internet gateway"),
        ("scraper", "subnet subnet-elsewhere is not a subnet of this stack"),
    ]
    assert found(rule, *network(), scraper(())) == [("scraper", "no source.eks.subnetIds")]


# --- which alert covers which model --------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "model", "covered"),
    [
        ('rate(x{model="ranker"}[5m]) > 1', "ranker", True),
        ('rate(x{model = "ranker"}[5m]) > 1', "ranker", True),
        ('rate(x{model="ranker"}[5m]) > 1', "rank", False),
        ('rate(x{model="rank"}[5m]) > 1', "ranker", False),
        ('rate(x{model=~"rank|ranker"}[5m]) > 1', "ranker", True),
        ('rate(x{model=~"rank"}[5m]) > 1', "ranker", False),  # anchored, as PromQL's are
        ('rate(x{model!="other"}[5m]) > 1', "ranker", False),
        ('rate(x{team="growth"}[5m]) > 1', "ranker", False),
    ],
)
def test_an_alert_covers_the_models_its_matcher_selects(expr, model, covered):
    assert covers({"alert": "A", "expr": expr}, model) is covered
    assert covers({"alert": "A"}, model) is False


def _rules_namespace(*rules: dict) -> dict:
    data = yaml.safe_dump({"groups": [{"name": "g", "rules": list(rules)}]})
    return resource(
        "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
        "handwritten",
        {"name": "handwritten", "workspaceId": "ws-1", "data": data},
    )


def test_a_model_is_named_at_its_deployment_for_each_alert_it_lacks():
    latency = {
        "alert": "Slow",
        "expr": f"histogram_quantile(0.99, rate({metrics.REQUEST_DURATION}_bucket"
        '{model="scorer"}[5m])) > 1',
        "labels": {"team": "growth"},
    }
    rule = "eks-model-latency-and-error-alerts"
    # a Deployment that serves no model (no mlplat.io/model label) is not judged
    other = changed(deployment("other"), "metadata.labels", {})
    entries = [_rules_namespace(latency), other, deployment("scorer"), deployment("idle")]
    assert found(rule, *entries) == [
        ("scorer-deployment", "model scorer: no error alert in an AMP rule namespace"),
        ("idle-deployment", "model idle: no latency alert in an AMP rule namespace"),
        ("idle-deployment", "model idle: no error alert in an AMP rule namespace"),
    ]


def test_an_alert_without_an_owner_is_named():
    orphan = {"alert": "Orphan", "expr": "up == 0", "labels": {"severity": "page"}}
    owned = {"alert": "Owned", "expr": "up == 0", "labels": {"team": "growth"}}
    assert messages("prometheus-alert-has-owner", _rules_namespace(orphan, owned)) == [
        "alert Orphan: no labels.team"
    ]
    broken = changed(_rules_namespace(owned), "data", "groups: [")
    (message,) = messages("prometheus-alert-has-owner", broken)
    assert message.startswith("data is not YAML: ")


# --- alarms, protection, tags, layers ----------------------------------------------------------


def test_an_alarm_says_why_it_notifies_nobody():
    silent = changed(changed(alarm(), "actionsEnabled", False), "alarmActions", DELETE)
    assert messages("cloudwatch-alarm-has-actions", silent) == [
        "actionsEnabled is false",
        "no alarmActions",
    ]


def test_an_unprotected_stateful_resource_says_so_in_prod_only():
    unprotected = changed(kms_key(), "@protect", False)
    assert messages("prod-stateful-protected", unprotected) == ["not protected (protect=False)"]
    assert messages("prod-stateful-protected", in_stack(unprotected, "dev"), stack="dev") == []


@pytest.mark.parametrize(
    ("resource_tags", "config", "expected"),
    [
        ({}, None, ["missing tags: mlplat:environment"]),
        (
            tags(),
            {"required-tags": {"requiredTags": ["mlplat:environment", "team", "cost-center"]}},
            ["missing tags: team, cost-center"],
        ),
        (tags("dev"), None, ["mlplat:environment=dev on a resource of stack prod"]),
        (
            tags(mlplat_model="ranker"),
            None,
            ["owned by model ranker but has no mlplat:team tag"],
        ),
        (tags(mlplat_model="ranker", mlplat_team="growth"), None, []),
    ],
)
def test_a_resource_says_which_tags_are_missing_or_wrong(resource_tags, config, expected):
    entry = changed(topic(), "tags", resource_tags)
    found_messages = [
        v.message
        for v in check(export(entry), policies=[policy_named("required-tags")], config=config)
    ]
    assert found_messages == expected


def test_a_platform_resource_in_a_serving_stack_names_its_type_and_stack():
    stack = "prod.serving.fraud"
    assert messages(
        "serving-stack-no-platform-resources", in_stack(table(), stack), stack=stack
    ) == [f"aws:dynamodb/table:Table in serving stack {stack}"]


# --- budgets -------------------------------------------------------------------------------------


def _with_notifications(*notifications: dict) -> dict:
    return changed(budget(), "notifications", list(notifications))


def _notification(kind: str, subscribed: bool = True) -> dict:
    actual, forecasted = budget()["inputs"]["notifications"]
    chosen = dict(actual if kind == "ACTUAL" else forecasted)
    if not subscribed:
        chosen.pop("subscriberSnsTopicArns")
    return chosen


@pytest.mark.parametrize(
    ("notifications", "expected"),
    [
        ([_notification("ACTUAL")], ["no FORECASTED notification"]),
        ([_notification("FORECASTED")], ["no ACTUAL notification"]),
        (
            [_notification("ACTUAL", subscribed=False), _notification("FORECASTED")],
            ["ACTUAL notification has no subscriber"],
        ),
        (
            [_notification("ACTUAL"), _notification("FORECASTED", subscribed=False)],
            ["FORECASTED notification has no subscriber"],
        ),
    ],
)
def test_a_budget_says_which_notification_it_lacks(notifications, expected):
    assert found("budget-actual-and-forecasted", _with_notifications(*notifications)) == [
        ("environment", message) for message in expected
    ]


def test_a_stack_without_a_budget_is_judged_only_when_it_creates_aws_resources_and_serves_not():
    rule = "budget-actual-and-forecasted"
    assert messages(rule, topic()) == ["the stack creates AWS resources but no budget watches them"]
    namespace_only = resource("kubernetes:core/v1:Namespace", "team-a", {"metadata": {}})
    assert messages(rule, namespace_only) == []
    # a team's serving stack is watched by the team's budget, in the platform stack
    serving = "prod.serving.fraud"
    assert messages(rule, in_stack(topic(), serving), stack=serving) == []


# --- storage, EKS and IAM rules: their messages ---------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "path", "value", "expected"),
    [
        ("dynamodb-pitr", "pointInTimeRecovery", DELETE, "point-in-time recovery is off"),
        (
            "dynamodb-customer-kms",
            "serverSideEncryption.kmsKeyArn",
            DELETE,
            "not encrypted with a customer-managed KMS key (serverSideEncryption)",
        ),
        (
            "dynamodb-deletion-protection",
            "deletionProtectionEnabled",
            False,
            "deletionProtectionEnabled is not true",
        ),
    ],
)
def test_a_table_says_which_safeguard_is_off(rule, path, value, expected):
    assert messages(rule, changed(table(), path, value)) == [expected]


def test_a_topic_without_a_key_and_a_bucket_without_its_guards_say_so():
    assert messages("sns-topic-encrypted", changed(topic(), "kmsMasterKeyId", DELETE)) == [
        "no kmsMasterKeyId"
    ]
    bucket, block, versioning, encryption = bucket_stack()
    assert messages("s3-public-access-block", bucket, versioning, encryption) == [
        "no public access block"
    ]
    half_open = changed(changed(block, "blockPublicPolicy", False), "ignorePublicAcls", False)
    assert messages("s3-public-access-block", bucket, half_open, versioning, encryption) == [
        "public access block leaves off: blockPublicPolicy, ignorePublicAcls"
    ]
    assert messages("s3-sse-kms", bucket, block, versioning) == [
        "no default SSE-KMS encryption with a customer-managed key"
    ]


def test_eks_rules_say_which_setting_is_off():
    logs = changed(eks_component_cluster(), "enabledClusterLogTypes", ["api", "audit"])
    assert messages("eks-control-plane-logging", logs) == [
        "control-plane log types not enabled: authenticator, controllerManager, scheduler"
    ]
    no_policy = changed(eks_component_cluster(), "vpcCniOptions", DELETE)
    assert messages("eks-network-policy-enforced", no_policy) == [
        "vpcCniOptions.enableNetworkPolicy is not true"
    ]
    for values in ("{not json", '{"enableNetworkPolicy": "false"}', DELETE):
        addon = changed(vpc_cni_addon(), "configurationValues", values)
        assert messages("eks-network-policy-enforced", addon) == [
            "the vpc-cni add-on does not enable network policies"
        ]


def test_iam_rules_say_what_they_found():
    # an AWS managed policy under a path (job-function/...) is judged by its name
    job_function = "arn:aws:iam::aws:policy/job-function/SystemAdministrator"
    attached = changed(role_policy_attachment(), "policyArn", job_function)
    config = {"iam-no-broad-managed-policies": {"deniedManagedPolicies": ["SystemAdministrator"]}}
    found_messages = [
        v.message
        for v in check(
            export(attached),
            policies=[policy_named("iam-no-broad-managed-policies")],
            config=config,
        )
    ]
    assert found_messages == [f"attaches {job_function}"]
    pass_any = {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
    policy = changed(iam_policy(), "policy", document(pass_any))
    assert messages("iam-no-passrole-wildcard", policy) == [
        "policy: statement 'Pass' allows iam:PassRole on *"
    ]
    # PassRole on named roles, or any action on *, is no PassRole wildcard
    scoped = {**pass_any, "Resource": "arn:aws:iam::123456789012:role/x"}
    assert (
        messages("iam-no-passrole-wildcard", changed(iam_policy(), "policy", document(scoped)))
        == []
    )
    reads = {**pass_any, "Action": "s3:GetObject"}
    assert (
        messages("iam-no-passrole-wildcard", changed(iam_policy(), "policy", document(reads))) == []
    )


def test_every_action_on_named_resources_is_no_admin_wildcard():
    scoped = {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}
    denied = {"Sid": "None", "Effect": "Deny", "Action": "*", "Resource": "*"}
    policy = changed(iam_policy(), "policy", document(scoped, denied))
    assert messages("iam-no-wildcard-admin", policy) == []
