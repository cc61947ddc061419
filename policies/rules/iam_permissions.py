"""The deploying role may do what the stack's resources need.

``policies/provider_actions.json`` lists, per resource type, the IAM actions the provider calls
to create, read, update, tag and delete it (its sources are noted there; the tests check every
action against the Service Authorization Reference). For each role the pack is told deploys the
stack (``deployerRoleNames``), every listed action of every type the stack contains must be
allowed, on ``"*"`` where the action takes no resource type. A type with no entry is reported
too, so a new kind of resource cannot ship without its deployer's permissions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
)

from policies.framework import as_list, dig, setting, stack_rule
from policies.rules.iam import Statement, parse_document
from policies.rules.iam_quotas import POLICY, ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT, role_key

TABLE_PATH = Path(__file__).parents[1] / "provider_actions.json"
LIFECYCLE = ("create", "read", "update", "delete", "tag")
# Resources of these providers are not AWS API calls made with the deployer's credentials.
NOT_AWS = ("kubernetes:", "pulumi:", "mlplat:", "grafana:")


@cache
def table() -> Mapping[str, Any]:
    return json.loads(TABLE_PATH.read_text())


def stack_types(types: Iterable[str]) -> set[str]:
    """The AWS resource types the provider creates for a stack: its own, and those a remote
    component (pulumi-eks) creates under the real engine."""
    components = table()["components"]
    found: set[str] = set()
    for type_ in types:
        if not type_.startswith(NOT_AWS):
            found.update(components.get(type_, [type_]))
    return found


def permission_gaps(statements: list[Statement], types: Iterable[str]) -> list[str]:
    """What a principal with `statements` lacks to manage resources of `types`."""
    entries, resource_less = table()["types"], set(table()["resource_less"])
    gaps = []
    for type_ in sorted(stack_types(types)):
        entry = entries.get(type_)
        if entry is None:
            gaps.append(f"{type_}: not in policies/provider_actions.json")
            continue
        for phase in LIFECYCLE:
            for action in entry[phase]:
                granting = [s for s in statements if s.allows and s.grants(action)]
                if not granting:
                    gaps.append(f"{type_} {phase}: {action} not granted")
                elif action in resource_less and not any(s.on_any_resource() for s in granting):
                    gaps.append(f"{type_} {phase}: {action} takes no resource type: needs '*'")
    return gaps


def role_statements(role: PolicyResource, resources: list[PolicyResource]) -> list[Statement]:
    """A role's inline policies (on the role and as RolePolicy) and attached managed policies."""
    names = {
        str(r.props["name"]): r.urn
        for r in resources
        if r.resource_type == ROLE and r.props.get("name")
    }
    policies = {r.urn: r for r in resources if r.resource_type == POLICY}
    by_arn = {str(r.props["arn"]): r for r in policies.values() if r.props.get("arn")}
    documents = [dig(inline, "policy") for inline in as_list(role.props.get("inlinePolicies"))]
    for resource in resources:
        if role_key(resource, names) != role.urn:
            continue
        if resource.resource_type == ROLE_POLICY:
            documents.append(resource.props.get("policy"))
        elif resource.resource_type == ROLE_POLICY_ATTACHMENT:
            linked = [
                policies[d.urn]
                for d in resource.property_dependencies.get("policyArn", [])
                if d.urn in policies
            ]
            linked = linked or [
                by_arn[a] for a in [str(resource.props.get("policyArn"))] if a in by_arn
            ]
            documents += [p.props.get("policy") for p in linked]
    return [s for document in documents if document is not None for s in parse_document(document)]


_DEPLOYERS = {
    "deployerRoleNames": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Name patterns (fnmatch) of the roles that run `pulumi up` for the stack.",
        "default": ["mlplat-*-ci-deployer"],
    }
}


@stack_rule(
    name="iam-deployer-permission-complete",
    enforcement=EnforcementLevel.MANDATORY,
    description="The role that deploys the stack is allowed every action the provider calls to "
    "create, read, update, tag and delete each resource type the stack contains.",
    severity=Severity.HIGH,
    remediation='Grant the missing actions in components/identity_policies.py (on "*" for '
    "actions without a resource type); for a new resource type, first list its actions in "
    "policies/provider_actions.json.",
    config=_DEPLOYERS,
)
def iam_deployer_permission_complete(args: StackValidationArgs, report: ReportViolation) -> None:
    patterns = setting(args, _DEPLOYERS, "deployerRoleNames")
    deployers = [
        r
        for r in args.resources
        if r.resource_type == ROLE
        and any(fnmatchcase(str(r.props.get("name") or ""), p) for p in patterns)
    ]
    types = {r.resource_type for r in args.resources}
    for role in deployers:
        for gap in permission_gaps(role_statements(role, args.resources), types):
            report(f"role {role.props.get('name')}: {gap}", role.urn)
