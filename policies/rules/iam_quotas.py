"""IAM's quotas on what a graph declares: where AWS would refuse the call, the rule is mandatory.

The limits (IAM User Guide, "IAM and AWS STS quotas, name requirements, and character limits"):

- a role's inline policies together: 10,240 characters; a managed policy: 6,144;
- a role's trust policy: 2,048 characters by default (an adjustable quota: tune
  ``maxTrustPolicyChars`` once it is raised);
- managed policies attached to a role: 10 by default (adjustable: ``maxManagedPoliciesPerRole``);
- names: role 64 characters (a ``namePrefix`` leaves 26 for the provider's suffix), policy and
  inline policy 128, path 512 (``/`` at both ends); descriptions 1,000; a role's session
  3,600-43,200 seconds; 50 tags per role or policy.

"IAM doesn't count white space when calculating the size of a policy": a document is measured as
its compact JSON (no whitespace between tokens). Whitespace inside string values is counted, the
safe reading (the page does not say). Documents arrive as JSON text (the engine's resolved
inputs) or as already-parsed maps; both are measured the same way.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.framework import as_list, dig, resource_rule, setting, stack_rule

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"

ROLE_INLINE_CHARS = 10_240
MANAGED_POLICY_CHARS = 6_144
TRUST_POLICY_CHARS = 2_048
MANAGED_POLICIES_PER_ROLE = 10
ROLE_NAME_CHARS = 64
# The provider appends a 26-character unique suffix to a name prefix.
ROLE_NAME_PREFIX_CHARS = ROLE_NAME_CHARS - 26
POLICY_NAME_CHARS = 128
PATH_CHARS = 512
DESCRIPTION_CHARS = 1_000
SESSION_SECONDS = (3_600, 43_200)
TAGS_PER_ENTITY = 50


def _plain(value: Any) -> Any:
    """Props as plain dicts and lists (the engine hands read-only proxies)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value


def policy_chars(document: Any) -> int:
    """The size IAM checks against its quotas: the document without whitespace between tokens."""
    if isinstance(document, str):
        try:
            parsed = json.loads(document)
        except json.JSONDecodeError:
            # Not JSON (AWS would refuse it anyway): every non-whitespace character.
            return sum(1 for c in document if not c.isspace())
    else:
        parsed = _plain(document)
    return len(json.dumps(parsed, separators=(",", ":"), ensure_ascii=False))


def role_key(resource: PolicyResource, names: Mapping[str, str]) -> str | None:
    """The URN of the role a RolePolicy or attachment belongs to (or the role's name when the
    graph does not hold it)."""
    for dependency in resource.property_dependencies.get("role", []):
        return dependency.urn
    role = resource.props.get("role")
    if role is None:
        return None
    return names.get(str(role), str(role))


def _role_names(args: StackValidationArgs) -> tuple[dict[str, str], dict[str, str]]:
    """(role name -> URN, URN -> how to call the role in a message)."""
    roles = [r for r in args.resources if r.resource_type == ROLE]
    names = {str(r.props["name"]): r.urn for r in roles if r.props.get("name")}
    labels = {r.urn: f"role {r.props.get('name') or r.name}" for r in roles}
    return names, labels


@stack_rule(
    name="iam-role-inline-policy-size",
    enforcement=EnforcementLevel.MANDATORY,
    description="A role's inline policies together stay within IAM's 10,240 characters "
    "(whitespace not counted).",
    severity=Severity.HIGH,
    remediation="Move statements into customer managed policies (aws.iam.Policy, up to 6,144 "
    "characters each) attached with aws.iam.RolePolicyAttachment, e.g. one per service.",
)
def iam_role_inline_policy_size(args: StackValidationArgs, report: ReportViolation) -> None:
    names, labels = _role_names(args)
    # Per role, by policy name: a deployed role's state lists every inline policy of the role
    # (RolePolicy resources' too) in inlinePolicies, which must not count them twice.
    policies: dict[str, dict[str, int]] = defaultdict(dict)
    for resource in args.resources:
        if resource.resource_type == ROLE:
            for index, inline in enumerate(as_list(resource.props.get("inlinePolicies"))):
                name = str(dig(inline, "name", default="") or f"#{index}")
                policies[resource.urn][name] = policy_chars(dig(inline, "policy", default=""))
        elif resource.resource_type == ROLE_POLICY:
            key = role_key(resource, names)
            if key is not None and resource.props.get("policy") is not None:
                name = str(resource.props.get("name") or resource.urn)
                policies[key][name] = policy_chars(resource.props["policy"])
    for key, size in sorted((key, sum(named.values())) for key, named in policies.items()):
        if size > ROLE_INLINE_CHARS:
            report(
                f"{labels.get(key, key)}: inline policies total {size} characters, over IAM's "
                f"{ROLE_INLINE_CHARS} (PutRolePolicy fails with LimitExceeded)",
                key if key in labels else None,
            )


@resource_rule(
    name="iam-managed-policy-size",
    enforcement=EnforcementLevel.MANDATORY,
    description="A managed policy stays within IAM's 6,144 characters (whitespace not counted).",
    severity=Severity.HIGH,
    remediation="Split the statements over several managed policies, or widen repeated ARNs "
    "into one pattern.",
    resource_types=(POLICY,),
)
def iam_managed_policy_size(args: ResourceValidationArgs, report: ReportViolation) -> None:
    document = args.props.get("policy")
    if document is not None and (size := policy_chars(document)) > MANAGED_POLICY_CHARS:
        report(f"policy document is {size} characters, over IAM's {MANAGED_POLICY_CHARS}")


_TRUST = {
    "maxTrustPolicyChars": {
        "type": "integer",
        "description": "The account's role trust policy length quota (adjustable; default 2,048).",
        "default": TRUST_POLICY_CHARS,
    }
}


@resource_rule(
    name="iam-trust-policy-size",
    enforcement=EnforcementLevel.MANDATORY,
    description="A role's trust policy stays within the account's quota (2,048 characters by "
    "default, whitespace not counted).",
    severity=Severity.HIGH,
    remediation="Trust fewer principals (an account root with an aws:PrincipalArn condition "
    "instead of a list of roles), or raise the quota and set maxTrustPolicyChars.",
    resource_types=(ROLE,),
    config=_TRUST,
)
def iam_trust_policy_size(args: ResourceValidationArgs, report: ReportViolation) -> None:
    limit = int(setting(args, _TRUST, "maxTrustPolicyChars"))
    document = args.props.get("assumeRolePolicy")
    if document is not None and (size := policy_chars(document)) > limit:
        report(f"trust policy is {size} characters, over the quota of {limit}")


_ATTACHED = {
    "maxManagedPoliciesPerRole": {
        "type": "integer",
        "description": "The account's quota of managed policies per role (default 10).",
        "default": MANAGED_POLICIES_PER_ROLE,
    }
}


@stack_rule(
    name="iam-role-managed-policy-count",
    enforcement=EnforcementLevel.MANDATORY,
    description="No role has more managed policies attached than the account's quota "
    "(10 by default).",
    severity=Severity.HIGH,
    remediation="Merge customer managed policies (each may hold 6,144 characters), or raise "
    "the quota and set maxManagedPoliciesPerRole.",
    config=_ATTACHED,
)
def iam_role_managed_policy_count(args: StackValidationArgs, report: ReportViolation) -> None:
    limit = int(setting(args, _ATTACHED, "maxManagedPoliciesPerRole"))
    names, labels = _role_names(args)
    # Per role, the set of policy ARNs: a deployed role's managedPolicyArns lists the
    # attachments' policies too. An ARN not known yet (preview) counts once per attachment.
    attached: dict[str, set[str]] = defaultdict(set)
    for resource in args.resources:
        if resource.resource_type == ROLE:
            attached[resource.urn].update(
                map(str, as_list(resource.props.get("managedPolicyArns")))
            )
        elif resource.resource_type == ROLE_POLICY_ATTACHMENT:
            key = role_key(resource, names)
            if key is not None:
                attached[key].add(str(resource.props.get("policyArn") or resource.urn))
        elif resource.resource_type == POLICY_ATTACHMENT:
            arn = str(resource.props.get("policyArn") or resource.urn)
            for role in map(str, as_list(resource.props.get("roles"))):
                attached[names.get(role, role)].add(arn)
    for key, count in sorted((key, len(arns)) for key, arns in attached.items()):
        if count > limit:
            report(
                f"{labels.get(key, key)}: {count} managed policies attached, over the quota "
                f"of {limit} (AttachRolePolicy fails with LimitExceeded)",
                key if key in labels else None,
            )


def _too_long(value: Any, limit: int) -> bool:
    return isinstance(value, str) and len(value) > limit


@resource_rule(
    name="iam-name-limits",
    enforcement=EnforcementLevel.MANDATORY,
    description="IAM roles and policies respect IAM's hard limits on names, paths, "
    "descriptions, tags and session duration.",
    severity=Severity.HIGH,
    remediation="Shorten the name (role 64 characters, a namePrefix 38; policies 128), the "
    "path (512, starting and ending with /) or the description (1,000); keep 50 tags or "
    "fewer and maxSessionDuration between 3,600 and 43,200 seconds.",
    resource_types=(ROLE, POLICY, ROLE_POLICY),
)
def iam_name_limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    name_limit = ROLE_NAME_CHARS if args.resource_type == ROLE else POLICY_NAME_CHARS
    if _too_long(props.get("name"), name_limit):
        report(f"name is {len(props['name'])} characters, over IAM's {name_limit}")
    if args.resource_type == ROLE and _too_long(props.get("namePrefix"), ROLE_NAME_PREFIX_CHARS):
        report(
            f"namePrefix is {len(props['namePrefix'])} characters; with the provider's "
            f"26-character suffix the name exceeds {ROLE_NAME_CHARS}"
        )
    path = props.get("path")
    if isinstance(path, str) and (
        len(path) > PATH_CHARS or not (path.startswith("/") and path.endswith("/"))
    ):
        report(f"path {path[:40]!r} must be at most {PATH_CHARS} characters, / at both ends")
    if _too_long(props.get("description"), DESCRIPTION_CHARS):
        report(f"description is over {DESCRIPTION_CHARS} characters")
    tags = props.get("tags")
    if isinstance(tags, Mapping) and len(tags) > TAGS_PER_ENTITY:
        report(f"{len(tags)} tags, over IAM's {TAGS_PER_ENTITY}")
    if args.resource_type == ROLE:
        for inline in as_list(props.get("inlinePolicies")):
            if _too_long(dig(inline, "name"), POLICY_NAME_CHARS):
                report(f"inline policy name over {POLICY_NAME_CHARS} characters")
        duration = props.get("maxSessionDuration")
        low, high = SESSION_SECONDS
        if isinstance(duration, int | float) and not low <= duration <= high:
            report(f"maxSessionDuration {duration} is outside {low}-{high} seconds")
