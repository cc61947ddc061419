"""Who may invoke which model: each team's caller role, evaluated as IAM evaluates identity
policies (the team deployer tests' evaluator), against every endpoint each stack declares."""

from __future__ import annotations

import json

import pytest

from components.model_callers import CALLER_SERVICE_ACCOUNT, caller_role_name
from infra.declarations.tags import TAG_TEAM
from tests.data.conftest import STACKS, resources
from tests.data.iam_roles import deploying_roles, permission_documents, role_statements
from tests.layers.test_team_deployer import _condition_holds, _list, _tag_context, allowed


def _caller_policy(export: dict, stack: str, team: str) -> dict:
    role = f"mlplat-{stack}-{team}-caller"
    (policy,) = [
        json.loads(r["inputs"]["policy"])
        for r in resources(export, "aws:iam/rolePolicy:RolePolicy")
        if r["inputs"]["role"] == role
    ]
    return policy


def _teams(export: dict) -> set[str]:
    return {
        r["inputs"]["tags"][TAG_TEAM] for r in resources(export, "aws:sagemaker/endpoint:Endpoint")
    }


@pytest.mark.parametrize("stack", STACKS)
def test_a_teams_caller_invokes_its_own_endpoints_and_no_other_teams(exports, stack):
    export = exports[stack]
    endpoints = resources(export, "aws:sagemaker/endpoint:Endpoint")
    teams = _teams(export)
    assert len(teams) >= 2, "needs endpoints of two teams to show the boundary"
    for team in teams:
        policy = _caller_policy(export, stack, team)
        for endpoint in endpoints:
            owner = endpoint["inputs"]["tags"][TAG_TEAM]
            for action in ("sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync"):
                verdict = allowed(
                    policy, action, endpoint["outputs"]["arn"], _tag_context(endpoint)
                )
                assert verdict == (owner == team), (team, owner, action)


@pytest.mark.parametrize("stack", STACKS)
def test_a_prefix_is_not_a_team(exports, stack):
    """Team ``fraud`` must not reach team ``fraud-ops``'s endpoint, whose name starts with its
    prefix: the tag decides."""
    export = exports[stack]
    team = sorted(_teams(export))[0]
    policy = _caller_policy(export, stack, team)
    lookalike = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/mlplat-{stack}-{team}-ops-1"
    other = {f"aws:ResourceTag/{TAG_TEAM}": f"{team}-ops"}
    assert not allowed(policy, "sagemaker:InvokeEndpoint", lookalike, other)


@pytest.mark.parametrize("stack", STACKS)
def test_callers_read_every_teams_routes_and_write_none(exports, stack):
    export = exports[stack]
    (table,) = [
        r
        for r in resources(export, "aws:dynamodb/table:Table")
        if r["inputs"]["name"].endswith("model-registry")
    ]
    for team in _teams(export):
        policy = _caller_policy(export, stack, team)
        arn = table["outputs"]["arn"]
        assert allowed(policy, "dynamodb:GetItem", arn, {})
        for write in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
            assert not allowed(policy, write, arn, {})


def _trust_allows(trust: dict, action: str, principal: str, context: dict) -> bool:
    for statement in trust["Statement"]:
        if action not in _list(statement["Action"]):
            continue
        if principal not in _list(next(iter(statement["Principal"].values()))):
            continue
        if all(
            _condition_holds(operator, key, expected, context)
            for operator, keys in statement.get("Condition", {}).items()
            for key, expected in keys.items()
        ):
            return True
    return False


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_teams_pods_and_roles_assume_its_caller(exports, stack):
    export = exports[stack]
    roles = {r["inputs"].get("name"): r for r in resources(export, "aws:iam/role:Role")}
    for team in _teams(export):
        trust = json.loads(roles[caller_role_name(stack, team)]["inputs"]["assumeRolePolicy"])
        oidc = next(s for s in trust["Statement"] if "Federated" in s["Principal"])
        provider = oidc["Principal"]["Federated"]
        issuer = provider.split("oidc-provider/", 1)[1]
        web = "sts:AssumeRoleWithWebIdentity"

        def pod(namespace, account=CALLER_SERVICE_ACCOUNT, issuer=issuer):
            return {
                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{account}",
                f"{issuer}:aud": "sts.amazonaws.com",
            }

        assert _trust_allows(trust, web, provider, pod(team))
        assert not _trust_allows(trust, web, provider, pod(f"{team}-x"))
        assert not _trust_allows(trust, web, provider, pod(team, "default"))
        root = "arn:aws:iam::123456789012:root"
        tagged = {f"aws:PrincipalTag/{TAG_TEAM}": team}
        assert _trust_allows(trust, "sts:AssumeRole", root, tagged)
        other = {f"aws:PrincipalTag/{TAG_TEAM}": f"{team}-x"}
        assert not _trust_allows(trust, "sts:AssumeRole", root, other)
        assert not _trust_allows(trust, "sts:AssumeRole", root, {})


def _secrets(export: dict) -> dict[str, dict]:
    """Team -> its route credentials secret."""
    return {
        r["inputs"]["tags"][TAG_TEAM]: r
        for r in resources(export, "aws:secretsmanager/secret:Secret")
        if TAG_TEAM in (r["inputs"].get("tags") or {})
    }


@pytest.mark.parametrize("stack", STACKS)
def test_a_teams_route_credentials_are_read_by_its_caller_and_no_other_role(exports, stack):
    """Every role of the stack, by every policy it has: of the platform's roles only the team's
    caller, and the roles that deploy the secret (Pulumi reads a secret version back), may read
    a team's secret; the key decrypts it only through Secrets Manager, for that secret."""
    export = exports[stack]
    secrets = _secrets(export)
    assert len(secrets) >= 2, "needs two teams' secrets to show the boundary"
    key = next(iter(secrets.values()))["inputs"]["kmsKeyId"]
    region = key.split(":")[3]
    via = {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
    documents = permission_documents(export)
    roles = {role for role, _ in documents}
    for team, secret in secrets.items():
        arn = secret["outputs"]["arn"]
        readers = {
            role
            for role in roles
            if allowed(
                {"Statement": role_statements(export, role)},
                "secretsmanager:GetSecretValue",
                arn,
                {},
            )
        }
        assert readers == {caller_role_name(stack, team), *deploying_roles(stack)}, team
        caller = {"Statement": role_statements(export, caller_role_name(stack, team))}
        context = via | {"kms:EncryptionContext:SecretARN": arn}
        assert allowed(caller, "kms:Decrypt", key, context)
        assert not allowed(caller, "kms:Decrypt", key, {"kms:ViaService": "s3.amazonaws.com"})
        for other, other_secret in secrets.items():
            if other != team:
                foreign = via | {"kms:EncryptionContext:SecretARN": other_secret["outputs"]["arn"]}
                assert not allowed(caller, "kms:Decrypt", key, foreign)
