"""A team's CI deployer, evaluated as IAM evaluates identity policies, against the resources the
layered exports hold: it may change its own serving resources and nothing of another team or of
the platform (cluster, network, keys, tables, buckets, budgets, roles)."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest

from components.team_deployer import DeployerScope, team_deployer_statements
from infra.declarations.tags import TAG_TEAM
from tests.layers.conftest import resources

ACCOUNT, REGION = "123456789012", "us-east-1"

# Mutating actions per service, tried on every resource of that service the platform stack holds.
PLATFORM_CHANGES = {
    "ec2": ("ec2:DeleteVpc", "ec2:ModifySubnetAttribute", "ec2:AuthorizeSecurityGroupIngress"),
    "eks": ("eks:UpdateClusterConfig", "eks:DeleteCluster", "eks:UpdateNodegroupConfig"),
    "kms": ("kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:DisableKey"),
    "dynamodb": ("dynamodb:DeleteTable", "dynamodb:UpdateTable"),
    "s3": ("s3:DeleteBucket", "s3:PutBucketPolicy", "s3:PutLifecycleConfiguration"),
    "iam": ("iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole", "iam:PassRole"),
    "sns": ("sns:SetTopicAttributes", "sns:DeleteTopic", "sns:Subscribe"),
    "budgets": ("budgets:ModifyBudget", "budgets:DeleteBudget"),
    "cloudwatch": ("cloudwatch:PutDashboard", "cloudwatch:PutMetricAlarm"),
    "sagemaker": ("sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpoint"),
}


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def _condition_holds(operator: str, key: str, expected, context: dict) -> bool:
    wanted = _list(expected)
    if operator.startswith("ForAllValues:"):  # every value in the request matches (none: true)
        values = _list(context.get(key, []))
        return all(
            _condition_holds(operator.split(":", 1)[1], key, wanted, {key: v}) for v in values
        )
    if key not in context:
        return False
    value = context[key]
    if operator == "StringEquals":
        return value in wanted
    if operator == "StringLike":
        return any(fnmatchcase(value, pattern) for pattern in wanted)
    raise AssertionError(f"operator {operator} not modelled by this test")


def allowed(document: dict, action: str, resource: str, context: dict) -> bool:
    """Explicit deny wins, then any allow whose action, resource and conditions all match."""
    verdict = False
    for statement in document["Statement"]:
        if not any(fnmatchcase(action.lower(), a.lower()) for a in _list(statement["Action"])):
            continue
        if not any(fnmatchcase(resource, r) for r in _list(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        if not all(
            _condition_holds(op, key, expected, context)
            for op, keys in conditions.items()
            for key, expected in keys.items()
        ):
            continue
        if statement["Effect"] == "Deny":
            return False
        verdict = True
    return verdict


def _tag_context(resource: dict) -> dict:
    tags = resource["inputs"].get("tags") or {}
    return {f"aws:ResourceTag/{k}": v for k, v in tags.items()} | {
        f"iam:ResourceTag/{k}": v for k, v in tags.items()
    }


@pytest.fixture(scope="module")
def dev(layer_exports):
    return layer_exports("dev")


def deployer_policy(dev: dict, team: str) -> dict:
    platform = resources(dev["dev.platform"])
    policy = next(
        r
        for r in platform
        if r["type"] == "aws:iam/rolePolicy:RolePolicy"
        and r["urn"].endswith(f"::mlplat-dev-{team}-deployer-policy")
    )
    return json.loads(policy["inputs"]["policy"])


def _arn(resource: dict) -> str | None:
    arn = resource["outputs"].get("arn")
    return arn if isinstance(arn, str) and arn.startswith("arn:") else None


@pytest.mark.parametrize("team", ["fraud", "growth"])
def test_a_team_deployer_changes_its_own_endpoints_and_no_other_teams(dev, team):
    policy = deployer_policy(dev, team)
    verdicts = {}
    for document in dev.values():
        for resource in resources(document):
            if resource["type"] == "aws:sagemaker/endpoint:Endpoint":
                owner = resource["inputs"]["tags"][TAG_TEAM]
                verdicts[_arn(resource)] = (
                    owner,
                    allowed(
                        policy, "sagemaker:UpdateEndpoint", _arn(resource), _tag_context(resource)
                    ),
                )
    assert {owner for owner, _ in verdicts.values()} == {"fraud", "growth"}
    assert all(ok == (owner == team) for owner, ok in verdicts.values()), verdicts


def test_a_team_deployer_cannot_change_the_platform(dev):
    policy = deployer_policy(dev, "fraud")
    tried = 0
    for resource in resources(dev["dev.platform"]):
        arn = _arn(resource)
        service = arn.split(":")[2] if arn else ""
        for action in PLATFORM_CHANGES.get(service, ()):
            tried += 1
            assert not allowed(policy, action, arn, _tag_context(resource)), (action, arn)
    assert tried > 50  # every kind of platform resource was tried


def test_the_cluster_is_out_of_reach(dev):
    policy = deployer_policy(dev, "fraud")
    cluster = f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/mlplat-dev"
    for action in PLATFORM_CHANGES["eks"]:
        assert not allowed(policy, action, cluster, {})


def _scope(team: str) -> DeployerScope:
    return DeployerScope(
        environment="dev",
        team=team,
        region=REGION,
        account=ACCOUNT,
        artifacts_bucket_arn="arn:aws:s3:::mlplat-dev-artifacts-bucket-1234567",
        registry_table_arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/mlplat-dev-model-registry",
        kms_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k",
    )


def _document(team: str) -> dict:
    return {"Statement": [s.to_json() for s in team_deployer_statements(_scope(team))]}


def test_a_team_deployer_writes_only_its_artifacts_and_registry_items():
    policy, scope = _document("fraud"), _scope("fraud")
    bucket, table = scope.artifacts_bucket_arn, scope.registry_table_arn
    assert allowed(policy, "s3:PutObject", f"{bucket}/teams/fraud/m/model.tar.gz", {})
    assert not allowed(policy, "s3:PutObject", f"{bucket}/teams/growth/m/model.tar.gz", {})
    own = {"dynamodb:LeadingKeys": ["fraud/fraud-scorer"]}
    other = {"dynamodb:LeadingKeys": ["growth/churn-predictor"]}
    assert allowed(policy, "dynamodb:PutItem", table, own)
    assert not allowed(policy, "dynamodb:PutItem", table, other)


def test_a_same_prefix_team_cannot_reach_through_the_name():
    """Team ``fraud``'s endpoint names are a prefix of team ``fraud-ops``'s: the tag decides."""
    policy = _document("fraud")
    endpoint = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/mlplat-dev-fraud-ops-1a2b3c4d-0"
    assert not allowed(
        policy, "sagemaker:DeleteEndpoint", endpoint, {f"aws:ResourceTag/{TAG_TEAM}": "fraud-ops"}
    )


def test_a_team_deployer_passes_only_its_own_execution_role():
    policy = _document("fraud")
    context = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    role = f"arn:aws:iam::{ACCOUNT}:role/mlplat-dev-%s-sagemaker-role-abc1234"
    assert allowed(policy, "iam:PassRole", role % "fraud", context)
    assert not allowed(policy, "iam:PassRole", role % "growth", context)
