"""IAM quota rules: one compliant resource per case, one property changed; each limit checked on
both sides (exactly at the limit passes, one over fails), with documents measured as IAM measures
them (whitespace not counted) whether they arrive as JSON text or as parsed maps."""

from __future__ import annotations

import json

import pytest
from policy_cases import DELETE, changed, export, resource, tags

from mlplat.policy_check import check
from policies.registry import policy_named
from policies.rules.iam_quotas import policy_chars

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
ACCOUNT = "123456789012"


def document_of(chars: int, *, sid: str = "Read") -> dict:
    """A valid identity policy of exactly `chars` characters as IAM counts them."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/"}
        ],
    }
    base = len(json.dumps(document, separators=(",", ":")))
    assert chars >= base, "the smallest document is longer than asked"
    document["Statement"][0]["Resource"] += "k" * (chars - base)
    return document


def text_of(chars: int, **kwargs) -> str:
    # Pretty-printed: the whitespace IAM does not count makes the text longer than the limit.
    return json.dumps(document_of(chars, **kwargs), indent=4)


def trust_of(chars: int) -> str:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ""}},
            }
        ],
    }
    base = len(json.dumps(document, separators=(",", ":")))
    document["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] = "1" * (
        chars - base
    )
    return json.dumps(document, indent=2)


def role(name: str = "mlplat-prod-ci-deployer", **inputs) -> dict:
    return resource(
        ROLE,
        name,
        {
            "name": name,
            "assumeRolePolicy": trust_of(600),
            "maxSessionDuration": 3600,
            "tags": tags(),
            **inputs,
        },
    )


def role_policy(owner: dict, index: int, chars: int, *, by_dependency: bool = True) -> dict:
    """An inline policy of `owner`, linked as the engine links it (a property dependency on the
    role) or, as in an export of a stack whose roles are outside it, by name only."""
    return resource(
        ROLE_POLICY,
        f"{owner['inputs']['name']}-policy-{index}",
        {"role": owner["inputs"]["name"], "policy": text_of(chars)},
        depends_on={"role": [owner["urn"]]} if by_dependency else None,
    )


def managed_policy(name: str = "mlplat-prod-ci-deployer-network", chars: int = 2000) -> dict:
    return resource(
        POLICY,
        name,
        {"name": name, "policy": text_of(chars), "tags": tags()},
        outputs={"arn": f"arn:aws:iam::{ACCOUNT}:policy/{name}"},
    )


def attachment(owner: dict, index: int) -> dict:
    return resource(
        ATTACHMENT,
        f"{owner['inputs']['name']}-attach-{index}",
        {
            "role": owner["inputs"]["name"],
            "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/mlplat-prod-p{index}",
        },
        depends_on={"role": [owner["urn"]]},
    )


def violations(*entries, rule: str, config=None) -> list:
    return check(export(*entries), policies=[policy_named(rule)], config=config)


def test_policy_size_ignores_whitespace_between_tokens_and_reads_parsed_documents():
    document = document_of(500)
    assert policy_chars(json.dumps(document)) == 500
    assert policy_chars(json.dumps(document, indent=8)) == 500
    assert policy_chars(document) == 500
    # Whitespace inside a value is part of it: counted.
    document["Statement"][0]["Sid"] = "Read Me"
    assert policy_chars(document) == 503  # " Me" added, its space included
    # A non-ASCII character is one character (IAM counts characters), not a \uXXXX escape.
    document["Statement"][0]["Sid"] = "Réad Me"
    assert policy_chars(document) == 503
    assert policy_chars("not json  at all") == len("notjsonatall")


# --- managed policy: 6,144 -------------------------------------------------------------------


@pytest.mark.parametrize(("chars", "fails"), [(6144, False), (6145, True)])
def test_managed_policy_size(chars, fails):
    rule = "iam-managed-policy-size"
    compliant = managed_policy()
    assert violations(compliant, rule=rule) == []
    found = violations(changed(compliant, "policy", text_of(chars)), rule=rule)
    assert bool(found) is fails
    assert len(text_of(chars)) > 6145  # the text with whitespace is over either way
    # The same document already parsed (as the engine may hand it) is measured the same.
    parsed = violations(changed(compliant, "policy", document_of(chars)), rule=rule)
    assert bool(parsed) is fails


# --- trust policy: 2,048 by default, tunable ---------------------------------------------------


@pytest.mark.parametrize(("chars", "fails"), [(2048, False), (2049, True)])
def test_trust_policy_size(chars, fails):
    rule = "iam-trust-policy-size"
    assert violations(role(), rule=rule) == []
    assert policy_chars(trust_of(chars)) == chars
    found = violations(changed(role(), "assumeRolePolicy", trust_of(chars)), rule=rule)
    assert bool(found) is fails


def test_a_raised_trust_quota_is_configured():
    long_trust = changed(role(), "assumeRolePolicy", trust_of(4096))
    rule = "iam-trust-policy-size"
    assert violations(long_trust, rule=rule)
    config = {rule: {"maxTrustPolicyChars": 4096}}
    assert violations(long_trust, rule=rule, config=config) == []


# --- a role's inline policies together: 10,240 --------------------------------------------------


@pytest.mark.parametrize(("last", "fails"), [(2240, False), (2241, True)])
def test_inline_policies_of_a_role_are_summed(last, fails):
    """Inline policies on the role itself and RolePolicy resources (linked by dependency or by
    name) count together: 3,000 + 3,000 + 2,000 + last against 10,240."""
    rule = "iam-role-inline-policy-size"
    owner = role(inlinePolicies=[{"name": "base", "policy": text_of(3000)}])
    stack = [
        owner,
        role_policy(owner, 1, 3000),
        role_policy(owner, 2, 2000, by_dependency=False),
        role_policy(owner, 3, 2000),
    ]
    assert violations(*stack, rule=rule) == []
    stack[-1] = role_policy(owner, 3, last)
    found = violations(*stack, rule=rule)
    assert bool(found) is fails
    if fails:
        (violation,) = found
        assert violation.urn == owner["urn"] and "10241" in violation.message


def test_a_role_policy_linked_by_dependency_counts_when_the_role_name_is_not_known():
    """An auto-named role (no name in the graph, as in a preview): its RolePolicy names the role
    by a value the graph does not hold, so only the property dependency ties the two together."""
    rule = "iam-role-inline-policy-size"
    owner = role(inlinePolicies=[{"name": "base", "policy": text_of(6000)}])
    owner = changed(owner, "name", DELETE)
    linked = resource(
        ROLE_POLICY,
        "auto-policy",
        {"role": "mlplat-prod-ci-deployer-1a2b3c", "policy": text_of(4000)},
        depends_on={"role": [owner["urn"]]},
    )
    assert violations(owner, linked, rule=rule) == []
    found = violations(owner, changed(linked, "policy", text_of(4241)), rule=rule)
    assert [v.urn for v in found] == [owner["urn"]]
    # named by its resource name, as the reader finds it in the program
    assert found[0].message.startswith(f"role {owner['urn'].rsplit('::', 1)[1]}: inline policies")


def test_inline_policies_are_summed_per_role_not_across_roles():
    rule = "iam-role-inline-policy-size"
    first, second = role("mlplat-prod-a"), role("mlplat-prod-b")
    stack = [first, second, role_policy(first, 1, 6000), role_policy(second, 1, 6000)]
    assert violations(*stack, rule=rule) == []
    assert violations(*stack, role_policy(first, 2, 4241), rule=rule)


# --- managed policies attached to a role: 10 by default -----------------------------------------


@pytest.mark.parametrize(("attachments", "fails"), [(8, False), (9, True)])
def test_managed_policies_attached_to_a_role(attachments, fails):
    """One ARN on the role, one policy attachment naming it, and `attachments` role policy
    attachments: 10 pass, 11 fail."""
    rule = "iam-role-managed-policy-count"
    owner = role(managedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"])
    shared = resource(
        POLICY_ATTACHMENT,
        "shared",
        {"roles": [owner["inputs"]["name"]], "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/x"},
    )
    assert violations(owner, shared, attachment(owner, 0), rule=rule) == []
    found = violations(
        owner, shared, *(attachment(owner, i) for i in range(attachments)), rule=rule
    )
    assert bool(found) is fails


def test_a_raised_attachment_quota_is_configured():
    rule = "iam-role-managed-policy-count"
    owner = role()
    stack = [owner, *(attachment(owner, i) for i in range(11))]
    assert violations(*stack, rule=rule)
    config = {rule: {"maxManagedPoliciesPerRole": 20}}
    assert violations(*stack, rule=rule, config=config) == []


# --- names, paths, descriptions, tags, session duration -----------------------------------------

NAME_CASES = [
    # (factory, property, value at the limit, value one over)
    (role, "name", "r" * 64, "r" * 65),
    (role, "namePrefix", "r" * 38, "r" * 39),
    (role, "path", "/" + "p" * 510 + "/", "/" + "p" * 511 + "/"),
    (role, "description", "d" * 1000, "d" * 1001),
    (role, "maxSessionDuration", 43200, 43201),
    (role, "tags", {f"k{i}": "v" for i in range(50)}, {f"k{i}": "v" for i in range(51)}),
    (managed_policy, "name", "p" * 128, "p" * 129),
    (managed_policy, "path", "/a/", "a/"),
    (managed_policy, "path", "/a/", "/a"),
]


@pytest.mark.parametrize(
    ("factory", "prop", "at_limit", "over"),
    NAME_CASES,
    ids=[f"{c[0].__name__}.{c[1]}" for c in NAME_CASES],
)
def test_iam_name_limits(factory, prop, at_limit, over):
    rule = "iam-name-limits"
    compliant = factory()
    assert violations(changed(compliant, prop, at_limit), rule=rule) == []
    found = violations(changed(compliant, prop, over), rule=rule)
    assert len(found) == 1 and found[0].urn == compliant["urn"]


def test_short_sessions_and_long_inline_policy_names_are_refused():
    rule = "iam-name-limits"
    assert violations(changed(role(), "maxSessionDuration", 3600), rule=rule) == []
    assert violations(changed(role(), "maxSessionDuration", 3599), rule=rule)
    inline = [{"name": "n" * 128, "policy": text_of(300)}]
    assert violations(role(inlinePolicies=inline), rule=rule) == []
    inline[0]["name"] += "n"
    assert violations(role(inlinePolicies=inline), rule=rule)
    owner = role()
    named = changed(role_policy(owner, 1, 300), "name", "x" * 129)
    assert violations(named, rule=rule)
    assert violations(changed(named, "name", DELETE), rule=rule) == []


def test_a_deployed_roles_own_listing_of_its_policies_is_not_counted_twice():
    """After a deployment the role's state lists every inline policy (by name) and every attached
    policy ARN, the RolePolicy and attachment resources' included."""
    owner = role()
    inline = role_policy(owner, 1, 6000)
    inline = changed(inline, "name", "deploy")
    attachments = [attachment(owner, i) for i in range(6)]
    deployed = changed(
        owner,
        "inlinePolicies",
        [{"name": "deploy", "policy": inline["inputs"]["policy"]}],
    )
    deployed = changed(
        deployed, "managedPolicyArns", [a["inputs"]["policyArn"] for a in attachments]
    )
    stack = [deployed, inline, *attachments]
    assert violations(*stack, rule="iam-role-inline-policy-size") == []
    assert violations(*stack, rule="iam-role-managed-policy-count") == []
    # Different names and ARNs do add up.
    other = changed(deployed, "inlinePolicies.0.name", "other")
    assert violations(other, inline, rule="iam-role-inline-policy-size")
    more = changed(
        deployed,
        "managedPolicyArns",
        [f"arn:aws:iam::{ACCOUNT}:policy/extra-{i}" for i in range(5)],
    )
    assert violations(more, *attachments, rule="iam-role-managed-policy-count")


def test_role_policies_of_roles_outside_the_graph_are_summed_per_role_name():
    """A RolePolicy on a role the stack does not hold is counted under that role's name."""
    rule = "iam-role-inline-policy-size"

    def outside(role_name: str, index: int, chars: int) -> dict:
        inputs = {"role": role_name, "policy": text_of(chars)}
        return resource(ROLE_POLICY, f"{role_name}-{index}", inputs)

    stack = [outside("external-a", 1, 6000), outside("external-b", 1, 6000)]
    assert violations(*stack, rule=rule) == []
    (found,) = violations(*stack, outside("external-a", 2, 4241), rule=rule)
    assert found.message.startswith("external-a: inline policies total 10241 characters")


def test_a_role_is_named_by_its_iam_name_when_the_graph_has_it():
    """The IAM name (what `aws iam` shows), not the program's resource name."""
    rule = "iam-role-inline-policy-size"
    owner = role(inlinePolicies=[{"name": "base", "policy": text_of(10241)}])
    owner = changed(owner, "name", "mlplat-prod-named")
    (found,) = violations(owner, rule=rule)
    assert found.message.startswith("role mlplat-prod-named: inline policies total 10241")


# --- what each quota rule says, and where ---------------------------------------------------------

STACK_URN = export()["deployment"]["resources"][0]["urn"]


def policy_attachment(name: str, roles: list[str], arn: str) -> dict:
    return resource(POLICY_ATTACHMENT, name, {"roles": roles, "policyArn": arn})


def test_policy_attachments_count_each_policy_once_per_role_they_name():
    """aws.iam.PolicyAttachment names roles by IAM name; an ARN the role already lists is the
    same attachment, so it counts once."""
    rule = "iam-role-managed-policy-count"
    arns = [f"arn:aws:iam::{ACCOUNT}:policy/p{i}" for i in range(11)]
    owner = role(managedPolicyArns=arns[:10])
    again = policy_attachment("again", [owner["inputs"]["name"]], arns[0])
    assert violations(owner, again, rule=rule) == []
    extra = policy_attachment("extra", [owner["inputs"]["name"], "external-x"], arns[10])
    (found,) = violations(owner, again, extra, rule=rule)
    assert (found.urn, found.message) == (
        owner["urn"],
        "role mlplat-prod-ci-deployer: 11 managed policies attached, over the quota of 10 "
        "(AttachRolePolicy fails with LimitExceeded)",
    )
    # a role outside the graph: counted under its name, reported at the stack
    outside = [policy_attachment(f"o{i}", ["external-x"], arn) for i, arn in enumerate(arns)]
    (found,) = violations(*outside, rule=rule)
    assert (found.urn, found.message) == (
        STACK_URN,
        "external-x: 11 managed policies attached, over the quota of 10 "
        "(AttachRolePolicy fails with LimitExceeded)",
    )


def test_inline_policies_without_a_name_or_a_document_or_a_role():
    """Unnamed inline policies are each counted; an entry without a document (a deployed role's
    state may list one) and a RolePolicy naming no role count for nothing."""
    rule = "iam-role-inline-policy-size"
    unnamed = [{"policy": text_of(5120)}, {"policy": text_of(5120)}, {"name": "empty"}]
    assert violations(role(inlinePolicies=unnamed), rule=rule) == []
    unnamed[0]["policy"] = text_of(5121)
    (found,) = violations(role(inlinePolicies=unnamed), rule=rule)
    assert (found.urn, found.message) == (
        role()["urn"],
        "role mlplat-prod-ci-deployer: inline policies total 10241 characters, over IAM's "
        "10240 (PutRolePolicy fails with LimitExceeded)",
    )
    roleless = [resource(ROLE_POLICY, f"p{i}", {"policy": text_of(6000)}) for i in range(2)]
    assert violations(*roleless, rule=rule) == []
    outside = [
        resource(ROLE_POLICY, f"x{i}", {"role": "external-x", "policy": text_of(6000)})
        for i in range(2)
    ]
    assert [v.urn for v in violations(*outside, rule=rule)] == [STACK_URN]


def test_each_iam_limit_says_what_is_over():
    rule = "iam-name-limits"

    def said(entry: dict) -> list[str]:
        return [v.message for v in violations(entry, rule=rule)]

    assert said(changed(role(), "name", "r" * 65)) == ["name is 65 characters, over IAM's 64"]
    assert said(changed(managed_policy(), "name", "p" * 129)) == [
        "name is 129 characters, over IAM's 128"
    ]
    assert said(changed(role(), "namePrefix", "r" * 39)) == [
        "namePrefix is 39 characters; with the provider's 26-character suffix the name exceeds 64"
    ]
    long_path = "/" + "p" * 511 + "/"
    assert said(changed(role(), "path", long_path)) == [
        f"path {long_path[:40]!r} must be at most 512 characters, / at both ends"
    ]
    assert said(changed(role(), "description", "d" * 1001)) == [
        "description is over 1000 characters"
    ]
    assert said(changed(role(), "tags", {f"k{i}": "v" for i in range(51)})) == [
        "51 tags, over IAM's 50"
    ]
    assert said(role(inlinePolicies=[{"name": "n" * 129, "policy": text_of(300)}])) == [
        "inline policy name over 128 characters"
    ]
    assert said(changed(role(), "maxSessionDuration", 3599)) == [
        "maxSessionDuration 3599 is outside 3600-43200 seconds"
    ]


def test_policy_and_trust_sizes_are_said_in_characters():
    (managed,) = violations(managed_policy(chars=6145), rule="iam-managed-policy-size")
    assert managed.message == "policy document is 6145 characters, over IAM's 6144"
    (trust,) = violations(role(assumeRolePolicy=trust_of(2049)), rule="iam-trust-policy-size")
    assert trust.message == "trust policy is 2049 characters, over the quota of 2048"
