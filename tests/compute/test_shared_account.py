"""The three shipped stacks deploy into one AWS account as shipped: no two of them create a
resource with the same physical identity (IAM roles, policies and OIDC providers, S3 buckets,
budgets and dashboards are named account- or world-wide; everything else per region)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from infra.loader import load_environment, read_stack_config

pytestmark = pytest.mark.slow

STACKS = ("dev", "staging", "prod")


def physical_identity(resource: dict) -> str | None:
    """What AWS names the resource by in the account: its ARN (account-wide services have none
    of a region in it), else its type and id. Kubernetes objects live in each stack's cluster."""
    if not resource["custom"] or resource["type"].startswith(("kubernetes:", "pulumi:")):
        return None
    outputs = resource.get("outputs") or {}
    return outputs.get("arn") or f"{resource['type']}|{outputs.get('id', resource.get('id'))}"


def test_the_shipped_stacks_share_an_account():
    accounts = {load_environment(s, read_stack_config(s)).settings.account_id for s in STACKS}
    assert len(accounts) == 1  # the premise of the test below


def test_no_account_global_name_is_created_by_two_stacks(stack_export):
    owners: dict[str, list[str]] = defaultdict(list)
    for stack in STACKS:
        for resource in stack_export(stack)["deployment"]["resources"]:
            identity = physical_identity(resource)
            if identity is not None:
                owners[identity].append(f"{stack}: {resource['urn'].rsplit('::', 1)[1]}")
    # Within a stack a resource may name its parent's ARN (a topic's policy): only across stacks
    # is a repeated identity a collision.
    duplicates = {
        identity: who
        for identity, who in owners.items()
        if len({owner.split(":", 1)[0] for owner in who}) > 1
    }
    assert not duplicates, duplicates


def test_account_global_names_are_listed(stack_export):
    """The check above sees the names that collide across stacks: IAM roles by name, the
    GitHub OIDC provider by URL, buckets and budgets by name."""
    identities = {
        physical_identity(r)
        for stack in STACKS
        for r in stack_export(stack)["deployment"]["resources"]
    }
    for stack in STACKS:
        assert f"arn:aws:iam::123456789012:role/mlplat-{stack}-ci-deployer" in identities
    assert (
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" in identities
    )
    assert any(i and i.startswith("arn:aws:s3:::mlplat-") for i in identities)
    assert any(i and i.startswith("arn:aws:budgets::123456789012:budget/") for i in identities)
