"""Reading roles' permissions out of an export, for the IAM tests."""

from __future__ import annotations

import json

from tests.data.conftest import resources


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def deploying_roles(stack: str) -> list[str]:
    """The roles that run `pulumi up`: the CI deployer, and the platform admin outside prod."""
    roles = [f"mlplat-{stack}-ci-deployer"]
    return roles if stack == "prod" else [*roles, f"mlplat-{stack}-platform-admin"]


def permission_documents(export: dict) -> list[tuple[str, str]]:
    """(role name, policy text) for every inline policy and every attached customer managed
    policy of the export."""
    managed = {
        r["outputs"]["arn"]: r["inputs"]["policy"]
        for r in resources(export, "aws:iam/policy:Policy")
    }
    inline = [
        (r["inputs"]["role"], r["inputs"]["policy"])
        for r in resources(export, "aws:iam/rolePolicy:RolePolicy")
    ]
    attached = [
        (r["inputs"]["role"], managed[r["inputs"]["policyArn"]])
        for r in resources(export, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r["inputs"]["policyArn"] in managed
    ]
    return inline + attached


def role_statements(export: dict, role_name: str) -> list[dict]:
    return [
        s
        for role, text in permission_documents(export)
        if role == role_name
        for s in as_list(json.loads(text)["Statement"])
    ]
