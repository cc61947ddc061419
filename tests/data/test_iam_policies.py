"""Every IAM document in every stack's export: no admin wildcard, scoped trust, team isolation,
and parliament's linter finding nothing at error level."""

from __future__ import annotations

import importlib
import json
import re
import warnings
from fnmatch import fnmatchcase

import pytest

from components import identity_policies
from components.data import prediction_partition_keys
from components.iam_documents import Principal, Statement, render
from components.identity_policies import RESOURCE_LESS_ACTIONS
from infra.loader import read_stack_config, settings_data
from mlplat.offline.engine import capture_stack
from mlplat.offline.export import to_document
from tests.data.conftest import STACKS, resources
from tests.data.iam_roles import as_list, deploying_roles, permission_documents, role_statements

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # parliament imports the deprecated pkg_resources
    from parliament import analyze_policy_string, enhance_finding

ERROR_SEVERITIES = {"CRITICAL", "HIGH"}
GITHUB = "token.actions.githubusercontent.com"


def _role(export: dict, name: str) -> dict:
    return next(
        r for r in resources(export, "aws:iam/role:Role") if r["inputs"].get("name") == name
    )


def _matches(pattern: str, arn: str) -> bool:
    # IAM resource wildcards: * any run of characters, ? one character (fnmatch's [] never occur).
    return fnmatchcase(arn, pattern)


def test_the_exports_hold_documents_of_every_kind(all_policy_documents):
    kinds = {(doc.stack, doc.kind) for doc in all_policy_documents}
    assert kinds == {
        (stack, kind) for stack in STACKS for kind in ("identity", "trust", "resource")
    }


def test_no_document_allows_every_action_on_every_resource(all_policy_documents):
    offenders = [
        (doc.urn, s.get("Sid"))
        for doc in all_policy_documents
        for s in doc.statements
        if s["Effect"] == "Allow"
        and "*" in as_list(s.get("Action", []))
        and "*" in as_list(s.get("Resource", ["*"]))
    ]
    assert offenders == []


def test_a_statement_refuses_the_admin_wildcard():
    with pytest.raises(ValueError, match="every action on every resource"):
        Statement("Admin", ("*",), ("*",))


def test_parliament_finds_no_error_level_problem(all_policy_documents):
    errors = []
    for doc in all_policy_documents:
        for finding in analyze_policy_string(doc.text).findings:
            finding = enhance_finding(finding)
            # A trust policy has no Resource by definition; parliament lints identity policies.
            if doc.kind == "trust" and "neither Resource nor NotResource" in str(finding.detail):
                continue
            if finding.severity in ERROR_SEVERITIES:
                errors.append(
                    (doc.urn.rsplit("::", 1)[-1], finding.issue, str(finding.detail)[:160])
                )
    assert errors == []


def test_parliament_would_flag_a_malformed_statement():
    # The linter is live: the same call reports a statement it cannot accept.
    text = render([Statement("Bad", ("s3:GetObject",), ("arn:aws:s3:::bucket/*",))]).replace(
        '"Effect": "Allow"', '"Effect": "Permit"'
    )
    findings = [enhance_finding(f) for f in analyze_policy_string(text).findings]
    assert any(f.severity in ERROR_SEVERITIES for f in findings)


@pytest.mark.parametrize("stack", STACKS)
def test_the_ci_deployer_is_trusted_only_from_the_configured_repository_and_branch(exports, stack):
    ci = settings_data(read_stack_config(stack))["ci"]
    branch = ci.get("branch", "main")
    export = exports[stack]
    provider = resources(export, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    if ci.get("createGithubOidcProvider", True):
        assert [p["inputs"]["url"] for p in provider] == [f"https://{GITHUB}"]
        assert provider[0]["inputs"]["clientIdLists"] == ["sts.amazonaws.com"]
        provider_arn = provider[0]["outputs"]["arn"]
    else:  # the account's provider, created by another stack
        assert [p for p in provider if GITHUB in p["inputs"]["url"]] == []
        provider_arn = f"arn:aws:iam::123456789012:oidc-provider/{GITHUB}"

    trust = json.loads(_role(export, f"mlplat-{stack}-ci-deployer")["inputs"]["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Federated": provider_arn}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{GITHUB}:aud": "sts.amazonaws.com",
            f"{GITHUB}:sub": f"repo:{ci['githubRepository']}:ref:refs/heads/{branch}",
        }
    }


def test_a_stack_sharing_the_account_trusts_the_named_oidc_provider_instead_of_creating_one():
    shared = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    config = dict(read_stack_config("staging"))
    ci = settings_data(config)["ci"]
    config["mlplat:ci"] = json.dumps({**ci, "githubOidcProviderArn": shared})
    export = to_document(capture_stack("staging", config=config))
    assert resources(export, "aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    trust = json.loads(_role(export, "mlplat-staging-ci-deployer")["inputs"]["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Federated": shared}
    # It belongs to another stack: no role here may change or delete it.
    policies = [text for _, text in permission_documents(export) if "OpenIDConnectProvider" in text]
    assert policies and all(GITHUB not in text for text in policies)


@pytest.mark.parametrize(
    "stack",
    [
        stack
        for stack in STACKS
        if settings_data(read_stack_config(stack))["ci"].get("createGithubOidcProvider", True)
    ],
)
def test_the_account_wide_github_provider_outlives_the_stack_that_created_it(exports, stack):
    (provider,) = resources(exports[stack], "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider["retainOnDelete"] is True
    policies = [text for _, text in permission_documents(exports[stack])]
    assert any(GITHUB in text for text in policies)  # the owner's deployer manages it


def _trust_allows(trust: dict, principal_arn: str, context: dict[str, str]) -> bool:
    """IAM's verdict on sts:AssumeRole by `principal_arn` under a trust policy with the
    request's condition keys `context` (an absent key fails Bool and ArnLike, as in IAM)."""
    account = principal_arn.split(":")[4]
    for statement in as_list(trust["Statement"]):
        if statement["Effect"] != "Allow" or "sts:AssumeRole" not in as_list(statement["Action"]):
            continue
        if f"arn:aws:iam::{account}:root" not in as_list(statement["Principal"].get("AWS")):
            continue
        checks = []
        for operator, keys in statement.get("Condition", {}).items():
            for key, values in keys.items():
                actual = context.get(key)
                if operator == "Bool":
                    checks.append(actual is not None and actual in as_list(values))
                elif operator == "ArnLike":
                    checks.append(
                        actual is not None and any(_matches(p, actual) for p in as_list(values))
                    )
                else:
                    raise AssertionError(f"operator {operator} not modelled")
        if all(checks):
            return True
    return False


def _human_roles(export: dict, stack: str) -> list[dict]:
    return [
        r
        for r in resources(export, "aws:iam/role:Role")
        if re.fullmatch(
            rf"mlplat-{stack}-(.+-)?(platform-admin|ml-engineer|data-scientist|auditor)",
            r["inputs"].get("name", ""),
        )
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_people_assume_roles_through_identity_center_or_as_iam_users_with_mfa(exports, stack):
    export = exports[stack]
    account = settings_data(read_stack_config(stack)).get("accountId", "123456789012")
    human = _human_roles(export, stack)
    teams = importlib.import_module(f"stacks.{stack}").teams
    assert len(human) == 2 + 2 * len(teams)  # admin, auditor, and two personas per team
    sso = f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com"
    allowed = [
        # Identity Center sessions carry no aws:MultiFactorAuthPresent (MFA is at sign-in);
        # the region is absent from the path when the instance is in us-east-1.
        (f"{sso}/eu-west-2/AWSReservedSSO_MlplatAdmin_1234567890abcdef", {}),
        (f"{sso}/AWSReservedSSO_MlplatAdmin_1234567890abcdef", {}),
        (f"arn:aws:iam::{account}:user/alice", {"aws:MultiFactorAuthPresent": "true"}),
    ]
    refused = [
        (f"arn:aws:iam::{account}:user/alice", {}),
        (f"arn:aws:iam::{account}:user/alice", {"aws:MultiFactorAuthPresent": "false"}),
        (f"arn:aws:iam::{account}:role/some-app", {}),
        (f"arn:aws:iam::{account}:role/AWSReservedSSO_Fake_1234567890abcdef", {}),
        ("arn:aws:iam::999999999999:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_A_1", {}),
    ]
    for role in human:
        trust = json.loads(role["inputs"]["assumeRolePolicy"])
        for principal, context in allowed:
            context = {**context, "aws:PrincipalArn": principal}
            assert _trust_allows(trust, principal, context), (role["inputs"]["name"], principal)
        for principal, context in refused:
            context = {**context, "aws:PrincipalArn": principal}
            assert not _trust_allows(trust, principal, context), (role["inputs"]["name"], principal)


_WRITE_ACTION = re.compile(
    r":(Create|Update|Delete|Put|Register|Deregister|Attach|Detach|Pass|Tag|Untag|Set|"
    r"Modify|Add|Enable|Schedule|Subscribe|Unsubscribe)"
)


def test_in_prod_only_the_ci_deployer_may_change_anything(exports):
    export = exports["prod"]
    writers = set()
    for role, text in permission_documents(export):
        for s in as_list(json.loads(text)["Statement"]):
            if s["Effect"] == "Allow" and any(
                _WRITE_ACTION.search(a) for a in as_list(s["Action"])
            ):
                writers.add(role)
    human = {
        w for w in writers if re.search(r"(platform-admin|ml-engineer|data-scientist|auditor)$", w)
    }
    assert human == set()
    assert "mlplat-prod-ci-deployer" in writers
    # In dev the same personas do write: the check above is not vacuous.
    dev_writers = {
        role
        for role, text in permission_documents(exports["dev"])
        for s in as_list(json.loads(text)["Statement"])
        if any(_WRITE_ACTION.search(a) for a in as_list(s["Action"]))
    }
    assert {
        "mlplat-dev-platform-admin",
        "mlplat-dev-fraud-ml-engineer",
        "mlplat-dev-fraud-data-scientist",
    } <= dev_writers


def test_no_role_gets_broad_managed_policies(exports):
    attached = [
        r["inputs"]["policyArn"]
        for export in exports.values()
        for r in resources(export, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    ]
    assert not [
        a
        for a in attached
        if a.endswith(("/AdministratorAccess", "FullAccess", "/PowerUserAccess"))
    ]


def _team_resources(export: dict, stack: str) -> dict[str, list[str]]:
    """ARNs (and S3 object ARNs under each team prefix) that belong to each team in the export."""
    owned: dict[str, list[str]] = {}
    buckets = {
        r["inputs"]["bucket"] if "bucket" in r["inputs"] else r["outputs"]["bucket"]: r["outputs"][
            "arn"
        ]
        for r in resources(export, "aws:s3/bucket:Bucket")
    }
    artifacts_arn = next(arn for name, arn in buckets.items() if "artifacts" in name)
    for type_ in (
        "aws:sagemaker/endpoint:Endpoint",
        "aws:sagemaker/model:Model",
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "aws:iam/role:Role",
    ):
        for r in resources(export, type_):
            team = (r["inputs"].get("tags") or {}).get("mlplat:team")
            if team:
                owned.setdefault(team, []).append(r["outputs"]["arn"])
    for team in list(owned):
        owned[team].append(f"{artifacts_arn}/teams/{team}/endpoints/x/model.tar.gz")
    return owned


def _team_item_keys(export: dict) -> dict[str, set[str]]:
    """Each team's partition keys: its registry items' keys as exported, and every prediction
    shard key of its models."""
    (tables,) = resources(export, "mlplat:data:DataTables")
    shards = tables["outputs"]["predictionShards"]
    keys: dict[str, set[str]] = {}
    for r in resources(export, "aws:dynamodb/tableItem:TableItem"):
        item = json.loads(r["inputs"]["item"])
        team, model = item["team"]["S"], item["model"]["S"]
        keys.setdefault(team, set()).add(item[r["inputs"]["hashKey"]]["S"])
        keys[team].update(prediction_partition_keys(team, model, shards))
    return keys


def _leading_keys_allow(condition: dict, key: str) -> bool:
    """IAM's verdict on a request for one partition key under a statement's conditions."""
    for operator, values in condition.items():
        if "dynamodb:LeadingKeys" not in values:
            continue
        # ForAnyValue would let one own key carry another team's keys in the same request.
        assert operator.startswith("ForAllValues:"), operator
        patterns = as_list(values["dynamodb:LeadingKeys"])
        if operator.endswith(":StringLike"):
            return any(_matches(p, key) for p in patterns)
        assert operator.endswith(":StringEquals"), operator
        return key in patterns
    raise AssertionError(f"no dynamodb:LeadingKeys condition in {condition}")


@pytest.mark.parametrize("stack", STACKS)
def test_each_teams_roles_reach_only_that_teams_resources(exports, stack):
    export = exports[stack]
    owned = _team_resources(export, stack)
    item_keys = _team_item_keys(export)
    assert len(owned) >= 2, "a stack with two teams is needed to check isolation"
    for team in owned:
        others = [
            arn
            for other, arns in owned.items()
            if other != team
            for arn in arns
            if f"-{team}-" not in arn
        ]  # a role the team itself is named in is its own
        other_keys = set().union(*(k for t, k in item_keys.items() if t != team))
        assert other_keys, "another team's items are needed to check isolation"
        for persona in ("ml-engineer", "data-scientist"):
            statements = [
                s
                for s in role_statements(export, f"mlplat-{stack}-{team}-{persona}")
                if s["Effect"] == "Allow"
            ]
            assert statements
            reached_own = reached_own_items = False
            for s in statements:
                patterns = as_list(s["Resource"])
                if patterns == ["*"]:
                    assert set(as_list(s["Action"])) <= set(RESOURCE_LESS_ACTIONS), s["Sid"]
                    continue
                assert not [a for a in others for p in patterns if _matches(p, a)], (
                    persona,
                    s["Sid"],
                )
                reached_own |= any(_matches(p, a) for a in owned[team] for p in patterns)
                item_actions = [
                    a
                    for a in as_list(s["Action"])
                    if a.startswith("dynamodb:") and not a.startswith("dynamodb:Describe")
                ]
                if item_actions and "table/" in str(s["Resource"]):
                    condition = s.get("Condition") or {}
                    leaked = sorted(k for k in other_keys if _leading_keys_allow(condition, k))
                    assert leaked == [], (persona, s["Sid"])
                    reached_own_items |= any(
                        _leading_keys_allow(condition, k) for k in item_keys.get(team, ())
                    )
            assert reached_own, f"{persona} of {team} reaches none of its own resources"
            if item_keys.get(team):
                assert reached_own_items, f"{persona} of {team} reaches none of its own items"


@pytest.mark.parametrize("build", [identity_policies.ml_engineer, identity_policies.data_scientist])
def test_team_item_patterns_stop_at_the_team_boundary(build):
    """A team's key pattern admits its own keys, never those of a team whose name extends it."""
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/mlplat-dev-"
    arns = identity_policies.Arns(
        "123456789012",
        "arn:aws:s3:::mlplat-dev-artifacts",
        "arn:aws:s3:::mlplat-dev-capture",
        f"{table}model-registry",
        f"{table}predictions",
        "arn:aws:kms:us-east-1:123456789012:key/k",
    )
    scope = identity_policies.Scope("dev", "us-east-1", production=False)
    statements = json.loads(render(build(scope, arns, identity_policies.TeamScope("fraud"))))
    item_statements = [s for s in statements["Statement"] if str(s["Resource"]).startswith(table)]
    assert {s["Sid"] for s in item_statements} >= {"ReadTeamRegistryItems", "ReadTeamPredictions"}
    own = ["fraud/new-model", "fraud/new-model#7"]
    others = ["fraud-ops/new-model", "fraudx/m#0", "growth/fraud", "growth/fraud/m#1", "fraud"]
    for s in item_statements:
        assert all(_leading_keys_allow(s["Condition"], k) for k in own), s["Sid"]
        assert not [k for k in others if _leading_keys_allow(s["Condition"], k)], s["Sid"]


def test_principals_render_as_aws_expects():
    assert Principal.account("123456789012").to_json() == {"AWS": "arn:aws:iam::123456789012:root"}
    assert Principal.anyone().to_json() == "*"
    with pytest.raises(ValueError, match="duplicate"):
        render([Statement("A", ("s3:GetObject",), ("arn:aws:s3:::b/*",))] * 2)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"sid": "Has-Dash", "actions": ("s3:GetObject",), "resources": ("arn:aws:s3:::b/*",)},
            "alphanumeric",
        ),
        (
            {"sid": "NoActions", "actions": (), "resources": ("arn:aws:s3:::b/*",)},
            "at least one action",
        ),
        ({"sid": "NoResources", "actions": ("s3:GetObject",)}, "needs resources"),
    ],
)
def test_statements_are_checked_when_built(arguments, message):
    with pytest.raises(ValueError, match=message):
        Statement(**arguments)


# The IAM service prefix of each provider module the stacks create resources in.
_SERVICE_OF_MODULE = {
    "appautoscaling": "application-autoscaling",
    "amp": "aps",
    "grafana": "grafana",
    "budgets": "budgets",
    "codebuild": "codebuild",
    "cloudwatch": "cloudwatch",
    "dynamodb": "dynamodb",
    "ec2": "ec2",
    "eks": "eks",
    "iam": "iam",
    "kms": "kms",
    "s3": "s3",
    "sagemaker": "sagemaker",
    "route53": "route53",
    "scheduler": "scheduler",
    "sns": "sns",
    "vpc": "ec2",  # aws.vpc security group rules are EC2 API calls
    "emrcontainers": "emr-containers",
    "msk": "kafka",
    "kinesis": "firehose",
    "cognito": "cognito-idp",  # user pools are Cognito's identity provider API
    "secretsmanager": "secretsmanager",
}


@pytest.mark.parametrize("stack", STACKS)
def test_the_ci_deployer_can_act_on_every_service_the_stack_uses(exports, stack):
    """Prod is changed only by the CI deployer: it must reach every service the stack creates
    resources in (the pulumi-eks component stands for the EKS resources it creates)."""
    export = exports[stack]
    used = {
        _SERVICE_OF_MODULE[r["type"].split(":")[1].split("/")[0]]
        for r in resources(export)
        if r["type"].startswith("aws:") and r["custom"]
    } | {"eks" for r in resources(export) if r["type"].startswith("eks:index:")}
    granted = {
        action.split(":")[0]
        for statement in role_statements(export, f"mlplat-{stack}-ci-deployer")
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
    }
    assert used <= granted, sorted(used - granted)
    assert {"ec2", "eks", "sagemaker", "s3", "dynamodb", "kms", "iam"} <= used


def _conditions_allow(condition: dict, context: dict[str, str]) -> bool:
    """IAM's verdict on a statement's conditions for the ARN-valued keys these roles use."""
    for operator, keys in condition.items():
        for key, values in keys.items():
            actual = context.get(key)
            matched = actual is not None and any(_matches(p, actual) for p in as_list(values))
            if operator == "ArnLike" and not matched:
                return False
            if operator == "ArnNotLike" and matched:
                return False
            if operator not in ("ArnLike", "ArnNotLike") and key in context:
                raise AssertionError(f"{operator} on {key} not modelled")
    return True


def _may_attach(statements: list[dict], role_arn: str, policy_arn: str) -> bool:
    return any(
        s["Effect"] == "Allow"
        and any(fnmatchcase("iam:AttachRolePolicy", a) for a in as_list(s["Action"]))
        and any(_matches(p, role_arn) for p in as_list(s["Resource"]))
        and _conditions_allow(s.get("Condition", {}), {"iam:PolicyARN": policy_arn})
        for s in statements
    )


BROAD_MANAGED_POLICIES = (
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
    "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
    "arn:aws:iam::aws:policy/AmazonS3FullAccess",
)


@pytest.mark.parametrize("stack", STACKS)
def test_the_deployers_may_attach_the_stacks_policies_but_never_broad_aws_ones(exports, stack):
    """The deployer's own iam:PolicyARN condition, judged as IAM would: every attachment the
    stack declares is allowed; AdministratorAccess, PowerUserAccess and any *FullAccess are not,
    on any of the environment's roles."""
    export = exports[stack]
    account = settings_data(read_stack_config(stack)).get("accountId", "123456789012")
    attachments = resources(export, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachments
    for deployer in deploying_roles(stack):
        statements = role_statements(export, deployer)
        for attachment in attachments:
            role_arn = f"arn:aws:iam::{account}:role/{attachment['inputs']['role']}"
            assert _may_attach(statements, role_arn, attachment["inputs"]["policyArn"]), (
                deployer,
                attachment["inputs"],
            )
        for role in {a["inputs"]["role"] for a in attachments} | {deployer}:
            role_arn = f"arn:aws:iam::{account}:role/{role}"
            granted = [p for p in BROAD_MANAGED_POLICIES if _may_attach(statements, role_arn, p)]
            assert granted == [], (deployer, role)


_DATA_KEY_ACTIONS = (
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:Encrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)


def _kms_writes(statements: list[dict]) -> set[str]:
    return {
        action
        for s in statements
        if s["Effect"] == "Allow"
        for action in _DATA_KEY_ACTIONS
        if any(fnmatchcase(action.lower(), a.lower()) for a in as_list(s["Action"]))
    }


def test_prod_people_cannot_encrypt_with_the_platform_key(exports):
    """In prod people read: they may decrypt what they read, never make data keys or encrypt
    (which would let them write SSE-KMS objects and items through another grant)."""
    for stack, expect_writes in (("prod", False), ("dev", True)):
        for role in _human_roles(exports[stack], stack):
            name = role["inputs"]["name"]
            writes = _kms_writes(role_statements(exports[stack], name))
            if expect_writes and name.endswith(("ml-engineer", "data-scientist")):
                # Outside prod the same roles upload artifacts: the check is not vacuous.
                assert "kms:GenerateDataKey" in writes, name
            elif not expect_writes:
                assert writes == set(), name


@pytest.mark.parametrize("production", [False, True])
def test_the_ci_deployer_reads_retrained_models_to_package_them(production):
    """A promoted declaration's artifact is a retraining job's model.tar.gz under
    ``retraining/teams/<team>/`` (SSE-KMS with the platform key); the single-stack deployer
    downloads it during ``pulumi up`` (model_packages/packaging.py)."""
    arns = identity_policies.Arns(
        "123456789012",
        "arn:aws:s3:::mlplat-dev-artifacts",
        "arn:aws:s3:::mlplat-dev-capture",
        "arn:aws:dynamodb:us-east-1:123456789012:table/mlplat-dev-model-registry",
        "arn:aws:dynamodb:us-east-1:123456789012:table/mlplat-dev-predictions",
        "arn:aws:kms:us-east-1:123456789012:key/k",
    )
    scope = identity_policies.Scope("dev", "us-east-1", production=production)
    statements = json.loads(render(identity_policies.ci_deployer(scope, arns)))["Statement"]

    def allows(action: str, resource: str) -> bool:
        return any(
            s["Effect"] == "Allow"
            and not s.get("Condition")
            and any(fnmatchcase(action, a) for a in as_list(s["Action"]))
            and any(_matches(p, resource) for p in as_list(s["Resource"]))
            for s in statements
        )

    model = f"{arns.artifacts_bucket_arn}/retraining/teams/fraud/job-1/output/model.tar.gz"
    assert allows("s3:GetObject", model)
    assert allows("kms:Decrypt", arns.kms_key_arn)
