"""Every stack's IAM fits IAM's quotas, judged by the pack's own quota rules over the export."""

from __future__ import annotations

import json

import pytest

from components import identity_policies
from mlplat.policy_check import check
from policies.registry import policy_named
from policies.rules.iam_quotas import (
    MANAGED_POLICIES_PER_ROLE,
    MANAGED_POLICY_CHARS,
    ROLE_INLINE_CHARS,
    policy_chars,
)
from tests.data.conftest import STACKS, resources
from tests.data.iam_roles import deploying_roles

QUOTA_RULES = (
    "iam-role-inline-policy-size",
    "iam-managed-policy-size",
    "iam-trust-policy-size",
    "iam-role-managed-policy-count",
    "iam-name-limits",
)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_is_within_iams_quotas(exports, stack):
    assert check(exports[stack], policies=[policy_named(r) for r in QUOTA_RULES]) == []


@pytest.mark.parametrize("stack", STACKS)
def test_deploying_roles_hold_one_managed_policy_per_service_group(exports, stack):
    export = exports[stack]
    managed = {r["outputs"]["arn"]: r["inputs"] for r in resources(export, "aws:iam/policy:Policy")}
    for role in deploying_roles(stack):
        attached = [
            managed[a["inputs"]["policyArn"]]
            for a in resources(export, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a["inputs"]["role"] == role
        ]
        assert sorted(p["name"] for p in attached) == sorted(
            f"{role}-{group}" for group in identity_policies.POLICY_GROUPS
        )
        assert len(attached) <= MANAGED_POLICIES_PER_ROLE
        for policy in attached:
            assert 0 < policy_chars(policy["policy"]) <= MANAGED_POLICY_CHARS, policy["name"]
            services = {
                action.split(":")[0]
                for s in json.loads(policy["policy"])["Statement"]
                for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
            }
            group = policy["name"].removeprefix(f"{role}-")
            # A statement's first action picks its group; the others stay with that service.
            assert services & set(identity_policies.POLICY_GROUPS[group]), policy["name"]
        # Together they are more than one role's inline policies could hold.
        assert sum(policy_chars(p["policy"]) for p in attached) > ROLE_INLINE_CHARS
        assert not [
            r
            for r in resources(export, "aws:iam/rolePolicy:RolePolicy")
            if r["inputs"]["role"] == role
        ]


def test_a_statement_of_an_unknown_service_has_no_policy_group():
    statement = identity_policies.Statement("Queue", ("sqs:SendMessage",), ("arn:aws:sqs:*:1:q",))
    with pytest.raises(ValueError, match="sqs"):
        identity_policies.grouped([statement])
