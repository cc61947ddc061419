"""How a guardrail is declared, and how its enforcement follows the environment.

A rule is a plain function decorated with `resource_rule` or `stack_rule`; the decorator turns it
into the pulumi_policy object the pack serves, carrying its kebab-case name, description, severity,
remediation text, declared enforcement level and config schema (all native pulumi_policy fields, so
`pulumi preview` shows them too, and the offline runner reads them from the same objects).

Enforcement: a rule enforces at its declared level outside prod (advisory unless it says
otherwise) and is mandatory in prod. Prod is read from the resource URN
(`urn:pulumi:prod::...`), so a check under the Pulumi CLI and an offline check agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.layers import environment_of as environment_of_stack
from infra.layers import is_serving_stack

PROD_STACK = "prod"
_URN = re.compile(
    r"^urn:pulumi:(?P<stack>[^:]+)::(?P<project>[^:]+)::(?P<type>.+)::(?P<name>[^:]*)$"
)

ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]
ConfigProperties = Mapping[str, Mapping[str, Any]]


def stack_of(urn: str) -> str:
    """The stack a URN belongs to ("" when the URN is not a Pulumi resource URN)."""
    match = _URN.match(urn or "")
    return match.group("stack") if match else ""


def environment_of(urn: str) -> str:
    """The environment of a URN's stack: every layer of prod (``prod.platform``,
    ``prod.serving.<team>``) is prod, so each is judged as prod."""
    return environment_of_stack(stack_of(urn))


def is_serving_layer(urn: str) -> bool:
    """Whether the URN's stack is a team's serving stack (``<env>.serving.<team>``)."""
    return is_serving_stack(stack_of(urn))


def is_prod(urn: str) -> bool:
    return environment_of(urn) == PROD_STACK


def effective_enforcement(
    policy: Policy, urn: str, configured: EnforcementLevel | None = None
) -> EnforcementLevel:
    """The level a violation of `policy` at `urn` is reported with.

    `configured` is the level the pack's config gives the policy. The Pulumi engine always sends
    one (the declared level when the user set nothing), so only a level that differs from the
    declared one counts as an override; it then wins in every environment, which is how a team
    disables a rule or makes it mandatory everywhere.
    """
    declared = policy.enforcement_level or EnforcementLevel.ADVISORY
    if configured is not None and configured != declared:
        return configured
    if declared is EnforcementLevel.DISABLED:
        return declared
    return EnforcementLevel.MANDATORY if is_prod(urn) else declared


def setting(
    args: ResourceValidationArgs | StackValidationArgs, schema: ConfigProperties, key: str
) -> Any:
    """A config value for the rule, falling back to the default its schema documents."""
    config = args.get_config() or {}
    if key in config:
        return config[key]
    return schema[key]["default"]


def _metadata(
    name: str,
    description: str,
    severity: Severity,
    remediation: str,
    enforcement: EnforcementLevel,
    config: ConfigProperties | None,
) -> dict[str, Any]:
    """The pulumi_policy Policy fields every rule declares."""
    return {
        "name": name,
        "description": description,
        "enforcement_level": enforcement,
        "config_schema": PolicyConfigSchema(dict(config)) if config else None,
        "severity": severity,
        "remediation_steps": remediation,
    }


def resource_rule(
    *,
    name: str,
    description: str,
    severity: Severity,
    remediation: str,
    resource_types: Iterable[str] | Callable[[str], bool],
    enforcement: EnforcementLevel = EnforcementLevel.ADVISORY,
    config: ConfigProperties | None = None,
) -> Callable[[ResourceCheck], ResourceValidationPolicy]:
    """Declare a rule judging one resource at a time, for the listed type tokens only
    (or the types a predicate accepts)."""
    applies = resource_types if callable(resource_types) else frozenset(resource_types).__contains__

    def declare(check: ResourceCheck) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if applies(args.resource_type):
                check(args, report)

        return ResourceValidationPolicy(
            validate=validate,
            **_metadata(name, description, severity, remediation, enforcement, config),
        )

    return declare


def stack_rule(
    *,
    name: str,
    description: str,
    severity: Severity,
    remediation: str,
    enforcement: EnforcementLevel = EnforcementLevel.ADVISORY,
    config: ConfigProperties | None = None,
) -> Callable[[StackCheck], StackValidationPolicy]:
    """Declare a rule judging relations between the resources of a whole stack."""

    def declare(check: StackCheck) -> StackValidationPolicy:
        return StackValidationPolicy(
            validate=check,
            **_metadata(name, description, severity, remediation, enforcement, config),
        )

    return declare


def dig(value: Any, *path: str | int, default: Any = None) -> Any:
    """Follow keys/indexes through nested props; `default` when any step is missing."""
    for step in path:
        if isinstance(step, int):
            if not _is_sequence(value) or step >= len(value):
                return default
            value = value[step]
        else:
            if not isinstance(value, Mapping) or step not in value or value[step] is None:
                return default
            value = value[step]
    return value


def _is_sequence(value: Any) -> bool:
    # Under the engine, props arrive wrapped in pulumi_policy's read-only Mapping/Sequence
    # proxies (which raise on unknown values during preview), not as dicts and lists.
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def as_list(value: Any) -> list[Any]:
    """Props that may be one value or a list of them (IAM statements, actions...)."""
    if value is None:
        return []
    if _is_sequence(value):
        return list(value)
    return [value]


def of_types(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def references(
    resource: PolicyResource, prop: str, target: PolicyResource, *target_props: str
) -> bool:
    """Whether `resource.props[prop]` refers to `target`.

    The engine records the dependency of a property on the resources it came from
    (property_dependencies); an exported graph also carries the resolved value, so the
    value is compared with the target's identifying outputs as a fallback.
    """
    if any(dep.urn == target.urn for dep in resource.property_dependencies.get(prop, [])):
        return True
    value = resource.props.get(prop)
    if value is None:
        return False
    return any(value == target.props.get(p) for p in target_props if target.props.get(p))
