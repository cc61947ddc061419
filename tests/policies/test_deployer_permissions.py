"""`iam-deployer-permission-complete` on small hand-built stacks, in-process: the deployer's
statements gathered from every place a role's permissions come from, each action of each type
checked, the reasons a gap is reported, and which roles and types are judged at all.

(tests/data/test_iam_permissions.py runs the same rule over the stacks' real previews.)"""

from __future__ import annotations

import json

import pytest
from policy_cases import document, resource

from mlplat.policy_check import check
from policies.registry import policy_named
from policies.rules.iam_permissions import LIFECYCLE, stack_types, table

RULE = "iam-deployer-permission-complete"
DEPLOYER = "mlplat-prod-ci-deployer"
ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
POLICY, ATTACHMENT = "aws:iam/policy:Policy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
KEY = "aws:kms/key:Key"


def actions(*types: str) -> list[str]:
    """Every action the provider calls for `types` (the table is the rule's input)."""
    return sorted({a for t in types for phase in LIFECYCLE for a in table()["types"][t][phase]})


def allow(granted: list[str], on: str = "*") -> str:
    return document({"Effect": "Allow", "Action": granted, "Resource": on})


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:prod::mlplat::{type_}::{name}"


# Where the deployer's permissions come from, one part of the needed actions each.
SOURCES = {
    "inline": (ROLE,),
    "role-policy": (ROLE_POLICY,),
    "attached-by-dependency": (POLICY,),
    "attached-by-arn": (ATTACHMENT, KEY),
}


def stack(unlinked: str | None = None, **grants: list[str]) -> list[dict]:
    """The deployer, a key, and the deployer's permissions from each source; `unlinked` names a
    source that is present in the stack but belongs to another role."""
    grant = {source: grants.get(source, actions(*types)) for source, types in SOURCES.items()}
    other = "someone-else"
    deployer = resource(
        ROLE,
        "deployer",
        {
            "name": DEPLOYER,
            "inlinePolicies": [{"name": "own", "policy": allow(grant["inline"])}]
            if unlinked != "inline"
            else [],
        },
    )
    managed = resource(POLICY, "managed", {"policy": allow(grant["attached-by-dependency"])})
    by_arn = resource(
        POLICY,
        "by-arn",
        {"policy": allow(grant["attached-by-arn"])},
        outputs={"arn": "arn:aws:iam::123456789012:policy/by-arn"},
    )
    return [
        deployer,
        resource(ROLE, "other", {"name": other}),
        resource(
            ROLE_POLICY,
            "deployer-inline",
            {
                "role": other if unlinked == "role-policy" else DEPLOYER,
                "policy": allow(grant["role-policy"]),
            },
        ),
        managed,
        by_arn,
        resource(
            ATTACHMENT,
            "deployer-managed",
            {"role": DEPLOYER, "policyArn": "arn:aws:iam::123456789012:policy/managed"},
            depends_on={
                "role": [deployer["urn"]],
                "policyArn": [
                    urn(POLICY, "elsewhere")
                    if unlinked == "attached-by-dependency"
                    else managed["urn"]
                ],
            },
        ),
        resource(
            ATTACHMENT,
            "deployer-by-arn",
            {
                "role": DEPLOYER,
                "policyArn": "arn:aws:iam::123456789012:policy/"
                + ("elsewhere" if unlinked == "attached-by-arn" else "by-arn"),
            },
        ),
        resource(KEY, "platform", {"enableKeyRotation": True}),
    ]


def gaps(*entries: dict, config: dict | None = None) -> list[str]:
    from policy_cases import export

    found = check(export(*entries), policies=[policy_named(RULE)], config=config)
    return [v.message for v in found]


def not_granted(*types: str) -> list[str]:
    return [
        f"role {DEPLOYER}: {t} {phase}: {a} not granted"
        for t in sorted(types)
        for phase in LIFECYCLE
        for a in table()["types"][t][phase]
    ]


def test_a_deployer_granted_every_action_of_its_stacks_types_passes():
    assert gaps(*stack()) == []


@pytest.mark.parametrize("source", list(SOURCES))
def test_each_place_a_roles_permissions_come_from_counts_and_only_for_its_role(source):
    """Without that source's statements, exactly the actions it granted are missing (some,
    like kms:EnableKeyRotation, are listed for two phases and reported for each)."""
    needed_elsewhere = {a for s, types in SOURCES.items() if s != source for a in actions(*types)}
    missing = [
        g
        for g in not_granted(*SOURCES[source])
        if g.split(": ")[-1].split()[0] not in needed_elsewhere
    ]
    assert missing  # else the source would not be tested
    assert gaps(*stack(unlinked=source)) == missing


def test_an_action_that_takes_no_resource_type_needs_every_resource():
    """ec2:DescribeLaunchTemplates takes no resource type: granted on an ARN, it is a gap;
    granted on '*' as well, it is not."""
    template = "aws:ec2/launchTemplate:LaunchTemplate"
    needed = actions(template)
    on_arn = allow(needed, on="arn:aws:ec2:*:*:launch-template/*")
    entries = [
        *stack(),
        resource(template, "lt", {"name": "lt"}),
        resource(ROLE_POLICY, "lt", {"role": DEPLOYER, "policy": on_arn}),
    ]
    expected = [
        f"role {DEPLOYER}: {template} {phase}: {a} takes no resource type: needs '*'"
        for phase in LIFECYCLE
        for a in table()["types"][template][phase]
        if a in table()["resource_less"]
    ]
    assert expected  # the launch template has such actions, else this proves nothing
    assert gaps(*entries) == expected
    entries.append(resource(ROLE_POLICY, "lt-any", {"role": DEPLOYER, "policy": allow(needed)}))
    assert gaps(*entries) == []


def test_a_type_the_table_does_not_list_is_a_gap_of_its_own():
    entries = [*stack(), resource("aws:sqs/queue:Queue", "q", {})]
    assert gaps(*entries) == [
        f"role {DEPLOYER}: aws:sqs/queue:Queue: not in policies/provider_actions.json"
    ]


def test_a_deny_grants_nothing():
    entries = stack(**{"attached-by-arn": actions(ATTACHMENT)})  # no key actions but these
    deny = document({"Effect": "Deny", "Action": actions(KEY), "Resource": "*"})
    entries.append(resource(ROLE_POLICY, "deny", {"role": DEPLOYER, "policy": deny}))
    assert gaps(*entries) == not_granted(KEY)


def test_only_the_roles_that_deploy_are_judged():
    entries = stack(**{"inline": []})
    assert gaps(*entries)  # the deployer lacks the role actions
    assert gaps(*entries, config={RULE: {"deployerRoleNames": ["someone-*"]}}) == [
        f"role someone-else: {g.split(': ', 1)[1]}"
        for g in not_granted(ROLE, ROLE_POLICY, POLICY, ATTACHMENT, KEY)
    ]


def test_kubernetes_pulumi_and_mlplat_resources_need_no_aws_permissions():
    entries = [
        *stack(),
        resource("kubernetes:apps/v1:Deployment", "d", {}),
        resource("pulumi:providers:kubernetes", "k", {}),
        resource("mlplat:serving:MultiModelEndpoint", "m", {}),
    ]
    assert gaps(*entries) == []


def test_a_remote_component_needs_the_permissions_of_what_it_creates():
    components = table()["components"]
    assert stack_types(["eks:index:Cluster"]) == set(components["eks:index:Cluster"])
    assert stack_types(["aws:kms/key:Key", "kubernetes:core/v1:Namespace"]) == {KEY}
    assert stack_types(["pulumi:pulumi:Stack", "mlplat:team:Team"]) == set()
    missing = gaps(*stack(), resource("eks:index:Cluster", "platform", {}))
    assert (
        f"role {DEPLOYER}: aws:eks/cluster:Cluster create: eks:CreateCluster not granted" in missing
    )
    assert json.dumps(missing).count("aws:eks/addon:Addon") >= 1


def test_a_type_missing_from_the_table_does_not_end_the_check():
    """aws:acm/... sorts before every other type of the stack; the deployer also lacks the key's
    actions, which are still reported."""
    entries = [
        *stack(**{"attached-by-arn": actions(ATTACHMENT)}),
        resource("aws:acm/certificate:Certificate", "cert", {}),
    ]
    assert gaps(*entries) == [
        f"role {DEPLOYER}: aws:acm/certificate:Certificate: not in policies/provider_actions.json",
        *not_granted(KEY),
    ]


def test_a_role_the_engine_names_does_not_stop_the_check():
    """An auto-named role has no name in a preview's graph."""
    assert gaps(*stack(), resource(ROLE, "auto-named", {})) == []


def test_a_gap_is_reported_at_the_deployer_role():
    entries = [*stack(), resource("aws:sqs/queue:Queue", "q", {})]
    from policy_cases import export

    found = check(export(*entries), policies=[policy_named(RULE)])
    assert [v.urn for v in found] == [entries[0]["urn"]]
