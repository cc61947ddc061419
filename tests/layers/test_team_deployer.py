"""A team's CI deployer, evaluated as IAM evaluates identity policies, against the resources the
layered exports hold: it may change its own serving resources and nothing of another team or of
the platform (cluster, network, keys, tables, buckets, budgets, roles)."""

from __future__ import annotations

import dataclasses
import json
from fnmatch import fnmatchcase

import pytest

from components.team_deployer import DeployerScope, boundary_statements, team_deployer_statements
from infra.declarations.environment import TeamData
from infra.declarations.tags import TAG_TEAM
from tests.layers.conftest import resources

ACCOUNT, REGION = "123456789012", "us-east-1"
STATE_BUCKET = "team-state-bucket"

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
    if operator == "Bool":  # "true"/"false", as IAM compares them
        return str(value).lower() in {str(w).lower() for w in wanted}
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
    """The team deployer's permissions: the customer managed policies attached to its role."""
    platform = resources(dev["dev.platform"])
    role = f"mlplat-dev-{team}-deployer"
    attached = {
        r["inputs"]["policyArn"]
        for r in platform
        if r["type"] == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
        and r["inputs"]["role"] == role
    }
    statements = [
        statement
        for r in platform
        if r["type"] == "aws:iam/policy:Policy" and r["outputs"].get("arn") in attached
        for statement in json.loads(r["inputs"]["policy"])["Statement"]
    ]
    assert statements, f"no policy attached to {role}"
    return {"Version": "2012-10-17", "Statement": statements}


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
        capture_bucket_arn="arn:aws:s3:::mlplat-dev-capture-bucket-7654321",
        state_bucket=STATE_BUCKET,
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


def test_a_team_deployer_reads_its_retrained_models_and_no_other_teams():
    """A promoted declaration serves a retrained model.tar.gz: ``pulumi up`` downloads it
    (model_packages/packaging.py) with the deployer's credentials, decrypting with the key the
    training job encrypted it with."""
    policy, scope = _document("fraud"), _scope("fraud")
    bucket = scope.artifacts_bucket_arn
    job_output = "pipelines-x1-Train-Ab12/output/model.tar.gz"
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    assert allowed(policy, "s3:GetObject", f"{bucket}/retraining/teams/fraud/{job_output}", {})
    assert allowed(policy, "kms:Decrypt", scope.kms_key_arn, via_s3)
    for other in ("growth", "fraud-ops"):  # another team, and one whose name extends fraud's
        key = f"{bucket}/retraining/teams/{other}/{job_output}"
        assert not allowed(policy, "s3:GetObject", key, {})
    assert not allowed(policy, "s3:PutObject", f"{bucket}/retraining/teams/fraud/{job_output}", {})


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


# --- Pulumi's S3 state backend: its own serving stacks' state, the platform's checkpoint --------

# The keys the DIY backend reads and writes for stack S of project P (pulumi/pulumi
# pkg/backend/diy: store.go StackBasePath/HistoryDir/BackupDir/JournalDir, state.go backups
# ``.bak`` and compression, lock.go ``locks/organization/P/S/<id>.json``, stack_tags.go).
STATE_KEYS = (
    ".pulumi/stacks/{p}/{s}.json",
    ".pulumi/stacks/{p}/{s}.json.gz",
    ".pulumi/stacks/{p}/{s}.json.bak",
    ".pulumi/stacks/{p}/{s}.pulumi-tags",
    ".pulumi/history/{p}/{s}/{s}-1733000000000000000.history.json",
    ".pulumi/history/{p}/{s}/{s}-1733000000000000000.checkpoint.json",
    ".pulumi/backups/{p}/{s}/{s}.1733000000000000000.json",
    ".pulumi/journal/{p}/{s}/00000001.json",
    ".pulumi/locks/organization/{p}/{s}/6f1c7a-lock.json",
)
# The prefixes it lists (stackPath: the checkpoint's name; listBucket: a folder and "/").
LISTED = (
    ".pulumi/stacks/{p}/{s}.json",
    ".pulumi/locks/organization/{p}/{s}/",
    ".pulumi/history/{p}/{s}/",
)
OBJECT_WRITES = ("s3:PutObject", "s3:DeleteObject")


def _object(key: str) -> str:
    return f"arn:aws:s3:::{STATE_BUCKET}/{key}"


def _may(policy: dict, stack: str, actions) -> list[bool]:
    return [
        allowed(policy, action, _object(key.format(p="mlplat", s=stack)), {})
        for key in STATE_KEYS
        for action in actions
    ]


def _may_list(policy: dict, stack: str) -> list[bool]:
    bucket = f"arn:aws:s3:::{STATE_BUCKET}"
    return [
        allowed(policy, "s3:ListBucket", bucket, {"s3:prefix": prefix.format(p="mlplat", s=stack)})
        for prefix in LISTED
    ]


@pytest.mark.parametrize(
    "stack", ["dev.serving.fraud", "dev.serving.fraud.1", "dev.serving.fraud.12"]
)
def test_a_team_deployer_reads_and_writes_its_own_stacks_state(stack):
    policy = _document("fraud")
    assert all(_may(policy, stack, ("s3:GetObject", *OBJECT_WRITES)))
    assert all(_may_list(policy, stack))
    assert allowed(policy, "s3:GetObject", _object(".pulumi/meta.yaml"), {})


@pytest.mark.parametrize(
    "stack",
    [
        "dev.serving.growth",
        "dev.serving.fraud-ops",
        "dev.serving.fraud-ops.1",
        "dev",
        "prod.serving.fraud",
        "dev.platform",
    ],
)
def test_no_other_stacks_state_can_be_written(stack):
    policy = _document("fraud")
    assert not any(_may(policy, stack, OBJECT_WRITES))
    assert not allowed(policy, "s3:PutObject", _object(".pulumi/meta.yaml"), {})


def test_the_platforms_checkpoint_is_read_and_nothing_else_of_another_stack():
    policy = _document("fraud")
    checkpoint = _object(".pulumi/stacks/mlplat/dev.platform.json")
    assert allowed(policy, "s3:GetObject", checkpoint, {})
    assert _may_list(policy, "dev.platform")[0]  # stackPath lists the checkpoint's name
    for stack in ("dev.serving.growth", "dev.serving.fraud-ops", "prod.platform", "dev"):
        assert not any(_may(policy, stack, ("s3:GetObject",))), stack
        assert not any(_may_list(policy, stack)), stack
    everything = {"s3:prefix": ".pulumi/stacks/mlplat/"}
    assert not allowed(policy, "s3:ListBucket", f"arn:aws:s3:::{STATE_BUCKET}", everything)


def test_without_a_state_bucket_no_state_is_granted():
    from dataclasses import replace

    def state_resources(scope) -> list[str]:
        statements = team_deployer_statements(scope)
        return [r for s in statements for r in s.resources if STATE_BUCKET in r]

    assert state_resources(_scope("fraud"))  # with one, there are
    assert state_resources(replace(_scope("fraud"), state_bucket=None)) == []


def test_the_deployed_team_deployer_has_its_stacks_state_in_the_configured_bucket(dev):
    from infra.loader import load_environment, read_stack_config

    bucket = load_environment("dev", read_stack_config("dev")).settings.ci.state_bucket
    assert bucket, "Pulumi.dev.yaml sets ci.stateBucket"
    policy = deployer_policy(dev, "fraud")
    key = f"arn:aws:s3:::{bucket}/.pulumi/stacks/mlplat/dev.serving.fraud.json"
    assert allowed(policy, "s3:PutObject", key, {})
    assert not allowed(policy, "s3:PutObject", key.replace("fraud", "growth"), {})


# --- the permissions boundary: every role the team creates carries it, and stays within it -------


def _boundary(dev: dict, team: str) -> dict:
    (policy,) = [
        r
        for r in resources(dev["dev.platform"])
        if r["type"] == "aws:iam/policy:Policy"
        and r["inputs"].get("name") == f"mlplat-dev-{team}-serving-boundary"
    ]
    return policy


def _serving_roles(dev: dict):
    for stack, document in dev.items():
        if ".serving." not in stack:
            continue
        team = stack.split(".")[2]
        for r in resources(document):
            if r["type"] == "aws:iam/role:Role":
                yield team, r, document


def test_every_role_of_a_serving_stack_carries_its_teams_boundary(dev):
    roles = list(_serving_roles(dev))
    assert {team for team, _, _ in roles} == {"fraud", "growth"}
    for team, role, _ in roles:
        assert role["inputs"].get("permissionsBoundary") == _boundary(dev, team)["outputs"]["arn"]


def _role_statements(document: dict, role: dict) -> list[dict]:
    """The inline policies of ``role`` in its stack (a RolePolicy's role input is the role's id)."""
    found = []
    for r in resources(document):
        if r["type"] == "aws:iam/rolePolicy:RolePolicy" and r["inputs"]["role"] in (
            role["outputs"].get("id"),
            role["outputs"].get("name"),
        ):
            found += _list(json.loads(r["inputs"]["policy"])["Statement"])
    return found


def _contexts(statement: dict) -> dict:
    """A request the statement allows: each condition key at one of the values it names."""
    return {
        key: _list(values)[0]
        for keys in statement.get("Condition", {}).values()
        for key, values in keys.items()
    }


def test_every_team_role_is_allowed_within_the_boundary_what_its_policy_grants(dev):
    checked = 0
    for team, role, document in _serving_roles(dev):
        boundary = json.loads(_boundary(dev, team)["inputs"]["policy"])
        statements = _role_statements(document, role)
        assert statements, role["urn"]
        for statement in statements:
            for action in _list(statement["Action"]):
                for resource in _list(statement["Resource"]):
                    checked += 1
                    assert allowed(boundary, action, resource, _contexts(statement)), (
                        role["urn"],
                        action,
                        resource,
                    )
    assert checked > 20


def test_the_boundary_reaches_no_other_team_and_nothing_of_the_platform(dev):
    boundary = json.loads(_boundary(dev, "fraud")["inputs"]["policy"])
    for document in dev.values():
        for resource in resources(document):
            arn = _arn(resource)
            service = arn.split(":")[2] if arn else ""
            for action in PLATFORM_CHANGES.get(service, ()):
                assert not allowed(boundary, action, arn, _tag_context(resource)), (action, arn)
    growth = json.loads(_boundary(dev, "growth")["inputs"]["policy"])
    for statement in growth["Statement"]:
        for resource in _list(statement["Resource"]):
            if "/teams/growth/" in resource:
                for action in _list(statement["Action"]):
                    assert not allowed(boundary, action, resource, _contexts(statement))


def test_a_team_deployer_creates_and_changes_only_roles_bounded_by_its_boundary():
    policy, scope = _document("fraud"), _scope("fraud")
    role = f"arn:aws:iam::{ACCOUNT}:role/mlplat-dev-fraud-sagemaker-role-abc1234"
    tag = {f"aws:RequestTag/{TAG_TEAM}": "fraud", f"iam:ResourceTag/{TAG_TEAM}": "fraud"}
    bounded = tag | {"iam:PermissionsBoundary": scope.boundary_arn}
    other = tag | {"iam:PermissionsBoundary": _scope("growth").boundary_arn}
    for action in (
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:PutRolePermissionsBoundary",
    ):
        assert allowed(policy, action, role, bounded), action
        assert not allowed(policy, action, role, tag), action  # no boundary
        assert not allowed(policy, action, role, other), action  # another team's
    assert not allowed(policy, "iam:DeleteRolePermissionsBoundary", role, bounded)
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
        assert not allowed(policy, action, scope.boundary_arn, {})


@pytest.mark.parametrize("team", ["fraud", "growth"])
def test_a_team_deployer_may_call_every_action_its_serving_stack_needs(dev, team):
    """The pack's completeness table (policies/provider_actions.json) against the team's role: the
    deployer can deploy its whole serving stack, not just stay out of others'."""
    from policies.rules.iam import parse_document
    from policies.rules.iam_permissions import permission_gaps

    statements = parse_document(json.dumps(deployer_policy(dev, team)))
    types = {r["type"] for r in resources(dev[f"dev.serving.{team}"])}
    assert "aws:sagemaker/endpointConfiguration:EndpointConfiguration" in types
    assert permission_gaps(statements, types) == []


# --- the team's declared data: what the boundary grants outside the platform ------------------


def _boundary_of(data: TeamData) -> dict:
    scope = dataclasses.replace(_scope("growth"), data=data)
    return {"Statement": [s.to_json() for s in boundary_statements(scope)]}


def test_the_boundary_reads_the_teams_read_prefixes_and_writes_only_its_write_prefixes():
    data = TeamData(read=("s3://lake/growth/",), write=("s3://warehouse/scores/",))
    boundary = _boundary_of(data)
    read, written = "arn:aws:s3:::lake/growth/churn/train/part-0", "arn:aws:s3:::warehouse/scores/x"
    assert allowed(boundary, "s3:GetObject", read, {})
    assert not allowed(boundary, "s3:PutObject", read, {})  # read-only prefix
    assert allowed(boundary, "s3:PutObject", written, {})
    for outside in ("arn:aws:s3:::lake/fraud/train/x", "arn:aws:s3:::lake/growthy/x"):
        assert not allowed(boundary, "s3:GetObject", outside, {})
    # A team that declares nothing outside the platform reaches nothing there, and starts no job.
    bare = _boundary_of(TeamData())
    assert not allowed(bare, "s3:GetObject", read, {})
    assert not allowed(bare, "s3:PutObject", written, {})
    assert not any("emr-containers:StartJobRun" in s["Action"] for s in bare["Statement"])
    assert any("emr-containers:StartJobRun" in s["Action"] for s in boundary["Statement"])


def test_merging_drops_only_allows_an_unconditioned_allow_already_covers():
    from components.iam_documents import Statement
    from components.team_deployer import _merged

    bucket = "arn:aws:s3:::lake"
    whole = Statement("Whole", ("s3:ListBucket",), (bucket,))
    prefixed = Statement(
        "Prefixed", ("s3:ListBucket",), (bucket,), conditions={"StringLike": {"s3:prefix": "a/*"}}
    )
    other_bucket = Statement(
        "Other",
        ("s3:ListBucket",),
        (bucket, "arn:aws:s3:::warehouse"),
        conditions={"StringLike": {"s3:prefix": "b/*"}},
    )
    assert [s.sid for s in _merged([whole, prefixed])] == ["Whole"]
    assert [s.sid for s in _merged([prefixed, whole])] == ["Whole"]
    # Covered in part only (another bucket), or only by a conditioned statement: both kept.
    assert {s.sid for s in _merged([whole, other_bucket])} == {"Whole", "Other"}
    conditioned = Statement(
        "Conditioned",
        ("s3:ListBucket",),
        (bucket,),
        conditions={"Bool": {"aws:SecureTransport": "true"}},
    )
    assert {s.sid for s in _merged([conditioned, prefixed])} == {"Conditioned", "Prefixed"}
    # A Deny is never dropped; an Allow of more actions on a wider pattern covers.
    deny = Statement("Deny", ("s3:ListBucket",), (bucket,), effect="Deny")
    assert {s.sid for s in _merged([whole, deny])} == {"Whole", "Deny"}
    read = Statement("Read", ("s3:GetObject",), (f"{bucket}/a/*",))
    wider = Statement("Wider", ("s3:GetObject", "s3:PutObject"), (f"{bucket}/*",))
    assert [s.sid for s in _merged([read, wider])] == ["Wider"]
    # Patterns are not compared as patterns: '?' and '[' (literal to IAM) cover nothing more.
    for wide in (f"{bucket}/a?/*", f"{bucket}/a[b]/*", f"{bucket}/a?"):
        broad = Statement("Broad", ("s3:GetObject", "s3:PutObject"), (wide,))
        narrow = Statement("Narrow", ("s3:GetObject",), (f"{bucket}/ab/x", f"{bucket}/a*"))
        assert {s.sid for s in _merged([broad, narrow])} == {"Broad", "Narrow"}, wide
