"""IAM rules over every policy document in the graph: identity policies, trust policies and the
resource policies of buckets, topics and keys.

Documents arrive as JSON strings (resolved outputs) or as already-parsed maps; both are read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, Severity

from policies.framework import as_list, dig, resource_rule, setting

ROLE = "aws:iam/role:Role"
# Resource types and the input holding their policy document.
IDENTITY_DOCUMENTS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
RESOURCE_DOCUMENTS = {
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:kms/key:Key": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
}
ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
)
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"


@dataclass(frozen=True)
class Statement:
    sid: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    principal: Any
    condition: dict[str, dict[str, Any]]

    @classmethod
    def parse(cls, raw: Any) -> Statement:
        return cls(
            sid=str(dig(raw, "Sid", default="")),
            effect=str(dig(raw, "Effect", default="")),
            actions=tuple(map(str, as_list(dig(raw, "Action")))),
            resources=tuple(map(str, as_list(dig(raw, "Resource")))),
            principal=dig(raw, "Principal"),
            condition=dict(dig(raw, "Condition", default={})),
        )

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    @property
    def label(self) -> str:
        return f"statement {self.sid!r}" if self.sid else "a statement"

    def grants(self, action: str) -> bool:
        """Whether an action pattern of the statement matches `action` (IAM is case-insensitive)."""
        return any(fnmatchcase(action.lower(), a.lower()) for a in self.actions)

    def on_any_resource(self) -> bool:
        return "*" in self.resources

    def principal_values(self) -> list[str]:
        if isinstance(self.principal, str):
            return [self.principal]
        if isinstance(self.principal, Mapping):
            return [str(v) for values in self.principal.values() for v in as_list(values)]
        return []

    def condition_values(self, key_suffix: str) -> list[str]:
        """Values every condition operator gives keys ending in `key_suffix` (e.g. ':sub')."""
        return [
            str(v)
            for keys in self.condition.values()
            for key, values in dict(keys).items()
            if key.endswith(key_suffix)
            for v in as_list(values)
        ]


def parse_document(document: Any) -> list[Statement]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return []
    return [Statement.parse(s) for s in as_list(dig(document, "Statement"))]


def _identity_documents(args: ResourceValidationArgs) -> Iterator[tuple[str, list[Statement]]]:
    if args.resource_type == ROLE:
        for inline in as_list(args.props.get("inlinePolicies")):
            yield (
                f"inline policy {dig(inline, 'name', default='')}",
                parse_document(dig(inline, "policy")),
            )
    elif args.resource_type in IDENTITY_DOCUMENTS:
        yield "policy", parse_document(args.props.get(IDENTITY_DOCUMENTS[args.resource_type]))


@resource_rule(
    name="iam-no-wildcard-admin",
    enforcement=EnforcementLevel.MANDATORY,
    description='No IAM policy allows every action ("*") on every resource ("*").',
    severity=Severity.CRITICAL,
    remediation="List the actions and resource ARNs the principal needs (build the statement "
    "from typed statements scoped to the platform's resources).",
    resource_types=(ROLE, *IDENTITY_DOCUMENTS),
)
def iam_no_wildcard_admin(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, statements in _identity_documents(args):
        for s in statements:
            if s.allows and s.on_any_resource() and any(a in ("*", "*:*") for a in s.actions):
                report(f"{where}: {s.label} allows * on *")


_MANAGED = {
    "deniedManagedPolicies": {
        "type": "array",
        "items": {"type": "string"},
        "description": "AWS managed policy names no role, user or group may have attached.",
        "default": [
            "AdministratorAccess",
            "AmazonSageMakerFullAccess",
            "PowerUserAccess",
            "IAMFullAccess",
        ],
    }
}


@resource_rule(
    name="iam-no-broad-managed-policies",
    enforcement=EnforcementLevel.MANDATORY,
    description="No principal gets AdministratorAccess, AmazonSageMakerFullAccess or another "
    "denied AWS managed policy.",
    severity=Severity.CRITICAL,
    remediation="Replace the managed policy with a least-privilege policy scoped to the "
    "platform's resources.",
    resource_types=(ROLE, *ATTACHMENTS),
    config=_MANAGED,
)
def iam_no_broad_managed_policies(args: ResourceValidationArgs, report: ReportViolation) -> None:
    denied = set(setting(args, _MANAGED, "deniedManagedPolicies"))
    arns = (
        as_list(args.props.get("managedPolicyArns"))
        if args.resource_type == ROLE
        else as_list(args.props.get("policyArn"))
    )
    for arn in map(str, arns):
        # arn:<partition>:iam::aws:policy[/path]/<Name>: AWS managed policies live in account "aws".
        if ":iam::aws:policy/" in arn and arn.rsplit("/", 1)[-1] in denied:
            report(f"attaches {arn}")


@resource_rule(
    name="iam-no-passrole-wildcard",
    enforcement=EnforcementLevel.MANDATORY,
    description="iam:PassRole is granted only on named roles, never on every resource.",
    severity=Severity.HIGH,
    remediation="Scope iam:PassRole to the execution role ARNs the principal must pass, "
    "ideally with an iam:PassedToService condition.",
    resource_types=(ROLE, *IDENTITY_DOCUMENTS),
)
def iam_no_passrole_wildcard(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, statements in _identity_documents(args):
        for s in statements:
            if s.allows and s.on_any_resource() and s.grants("iam:PassRole"):
                report(f"{where}: {s.label} allows iam:PassRole on *")


def _trust_and_resource_documents(
    args: ResourceValidationArgs,
) -> Iterator[tuple[str, list[Statement]]]:
    if args.resource_type == ROLE:
        yield "trust policy", parse_document(args.props.get("assumeRolePolicy"))
    elif args.resource_type in RESOURCE_DOCUMENTS:
        yield (
            "resource policy",
            parse_document(args.props.get(RESOURCE_DOCUMENTS[args.resource_type])),
        )


@resource_rule(
    name="iam-no-wildcard-principal",
    enforcement=EnforcementLevel.MANDATORY,
    description='No trust or resource policy allows any principal ("*") without a condition.',
    severity=Severity.CRITICAL,
    remediation="Name the principals (account, role or service), or add a condition that "
    "scopes the wildcard (aws:SourceArn, aws:PrincipalOrgID, ...).",
    resource_types=(ROLE, *RESOURCE_DOCUMENTS),
)
def iam_no_wildcard_principal(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, statements in _trust_and_resource_documents(args):
        for s in statements:
            if s.allows and "*" in s.principal_values() and not s.condition:
                report(f"{where}: {s.label} allows any principal without a condition")


def _unscoped_subject(issuer_key_values: list[str]) -> str | None:
    """Why the `:sub` values fail to pin one workload (None when they do)."""
    if not issuer_key_values:
        return "no condition on the token subject (:sub)"
    for sub in issuer_key_values:
        if sub.strip("*") == "":
            return f"subject {sub!r} matches every identity"
        if sub.startswith("repo:") and "*" in sub.split(":")[1]:
            return f"subject {sub!r} does not name one repository"
        if sub.startswith("system:serviceaccount:") and "*" in ":".join(sub.split(":")[2:3]):
            return f"subject {sub!r} does not name one namespace"
    return None


@resource_rule(
    name="iam-oidc-trust-scoped",
    enforcement=EnforcementLevel.MANDATORY,
    description="Roles assumed through an OIDC provider (GitHub Actions, EKS IRSA) trust only "
    "the intended subject and audience.",
    severity=Severity.CRITICAL,
    remediation='Add StringEquals/StringLike conditions on "<issuer>:sub" naming the repository '
    "(repo:<owner>/<repo>:ref:refs/heads/<branch>) or service account "
    '(system:serviceaccount:<namespace>:<name>), and "<issuer>:aud" = "sts.amazonaws.com".',
    resource_types=(ROLE,),
)
def iam_oidc_trust_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for s in parse_document(args.props.get("assumeRolePolicy")):
        federated = isinstance(s.principal, Mapping) and "Federated" in s.principal
        if not (s.allows and federated and s.grants(WEB_IDENTITY)):
            continue
        problem = _unscoped_subject(s.condition_values(":sub"))
        if problem:
            report(f"{s.label}: {problem}")
        if not s.condition_values(":aud"):
            report(f"{s.label}: no condition on the token audience (:aud)")
