"""Tagging rules: the cost allocation and ownership tags the platform's budgets rely on."""

from __future__ import annotations

# The SDK packages register their resource modules on import; `is_taggable` looks classes up
# there, so they must be imported before it is first asked (its answers are cached).
import pulumi_aws  # noqa: F401
import pulumi_eks  # noqa: F401
from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from infra.declarations.tags import TAG_ENVIRONMENT, TAG_MODEL, TAG_TEAM
from infra.tagging import is_taggable
from policies.framework import environment_of, resource_rule, setting, stack_of

_TAGS = {
    "requiredTags": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Tag keys every taggable AWS resource must carry.",
        "default": [TAG_ENVIRONMENT],
    }
}


@resource_rule(
    name="required-tags",
    description=f"Taggable AWS resources carry {TAG_ENVIRONMENT} (naming their stack) and, "
    f"when a model owns them, {TAG_TEAM} as well.",
    severity=Severity.LOW,
    remediation="Create the resource under a component that declares its owner, so the stack's "
    "tag transform (infra/tagging.py) tags it.",
    resource_types=is_taggable,
    config=_TAGS,
)
def required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    tags = dict(args.props.get("tags") or {})
    missing = [k for k in setting(args, _TAGS, "requiredTags") if not tags.get(k)]
    if missing:
        report(f"missing tags: {', '.join(missing)}")
    stack, environment = stack_of(args.urn), environment_of(args.urn)
    if tags.get(TAG_ENVIRONMENT) and stack and tags[TAG_ENVIRONMENT] != environment:
        report(f"{TAG_ENVIRONMENT}={tags[TAG_ENVIRONMENT]} on a resource of stack {stack}")
    if tags.get(TAG_MODEL) and not tags.get(TAG_TEAM):
        report(f"owned by model {tags[TAG_MODEL]} but has no {TAG_TEAM} tag")
