"""The token issuer's rules (policies/rules/route_auth.py): one compliant resource of each type,
as TeamRoutes' issuer declares it, then one property changed per case."""

from __future__ import annotations

import pytest
from policy_cases import DELETE, KEY_ARN, changed, export, resource, tags

from mlplat.policy_check import check

RULES = (
    "cognito-user-pool-deletion-protection",
    "cognito-client-credentials-only",
    "secretsmanager-secret-kms-key",
)


def pool(stack: str = "prod") -> dict:
    return resource(
        "aws:cognito/userPool:UserPool",
        "routes-pool",
        {
            "name": f"mlplat-{stack}-routes",
            "deletionProtection": "ACTIVE" if stack == "prod" else "INACTIVE",
            "adminCreateUserConfig": {"allowAdminCreateUserOnly": True},
            "tags": tags(stack),
        },
        stack=stack,
    )


def client() -> dict:
    return resource(
        "aws:cognito/userPoolClient:UserPoolClient",
        "growth-client",
        {
            "name": "mlplat-prod-growth-caller",
            "userPoolId": "eu-west-1_AbC123",
            "generateSecret": True,
            "allowedOauthFlows": ["client_credentials"],
            "allowedOauthFlowsUserPoolClient": True,
            "allowedOauthScopes": ["routes/growth.invoke"],
            "accessTokenValidity": 60,
            "tokenValidityUnits": {"accessToken": "minutes"},
        },
    )


def secret() -> dict:
    return resource(
        "aws:secretsmanager/secret:Secret",
        "growth-credentials",
        {"name": "mlplat/prod/growth/route-client", "kmsKeyId": KEY_ARN, "tags": tags()},
    )


def violations(*entries: dict, stack: str = "prod") -> set[str]:
    return {v.policy for v in check(export(*entries, stack=stack)) if v.policy in RULES}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_issuer_as_declared_passes(stack):
    assert violations(pool(stack), stack=stack) == set()
    assert violations(client(), secret()) == set()


@pytest.mark.parametrize(
    ("rule", "entry"),
    [
        (
            "cognito-user-pool-deletion-protection",
            changed(pool(), "deletionProtection", "INACTIVE"),
        ),
        ("cognito-user-pool-deletion-protection", changed(pool(), "deletionProtection", DELETE)),
        (
            "cognito-client-credentials-only",
            changed(client(), "allowedOauthFlows", ["client_credentials", "code"]),
        ),
        ("cognito-client-credentials-only", changed(client(), "allowedOauthFlows", ["implicit"])),
        ("cognito-client-credentials-only", changed(client(), "generateSecret", False)),
        ("cognito-client-credentials-only", changed(client(), "allowedOauthScopes", [])),
        (
            "cognito-client-credentials-only",
            changed(client(), "allowedOauthFlowsUserPoolClient", False),
        ),
        ("cognito-client-credentials-only", changed(client(), "callbackUrls", ["https://x"])),
        ("cognito-client-credentials-only", changed(client(), "accessTokenValidity", 61)),
        # 2 in the default unit, hours.
        ("cognito-client-credentials-only", changed(client(), "tokenValidityUnits", DELETE)),
        ("secretsmanager-secret-kms-key", changed(secret(), "kmsKeyId", DELETE)),
        (
            "secretsmanager-secret-kms-key",
            changed(secret(), "kmsKeyId", "alias/aws/secretsmanager"),
        ),
    ],
)
def test_one_property_changed_fails_its_rule(rule, entry):
    assert violations(entry) == {rule}


def test_a_client_with_the_default_validity_of_one_hour_passes():
    default = changed(
        changed(client(), "accessTokenValidity", DELETE), "tokenValidityUnits", DELETE
    )
    assert violations(default) == set()


def test_deletion_protection_is_required_in_prod_only():
    assert violations(changed(pool("dev"), "deletionProtection", "INACTIVE"), stack="dev") == set()
