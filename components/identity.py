"""Who may do what: the platform's persona roles and the CI deployer (RBAC on AWS).

Roles of one environment (``<env>`` = dev, staging or prod):

==========================================  ===================================================
role name                                   may
==========================================  ===================================================
``mlplat-<env>-platform-admin``             non-prod: manage every platform resource of the
                                            environment; prod: read
``mlplat-<env>-<team>-ml-engineer``         non-prod: deploy the team's endpoints, upload its
                                            artifacts; prod: read the team's resources
``mlplat-<env>-<team>-data-scientist``      non-prod: register the team's models (artifacts +
                                            registry rows); everywhere: read metrics and the
                                            team's registry rows
``mlplat-<env>-auditor``                    read configuration (AWS managed SecurityAudit and
                                            job-function/ViewOnlyAccess), never data
``mlplat-<env>-ci-deployer``                deploy the environment (``pulumi up``); assumed only
                                            through GitHub's OIDC provider from
                                            ``repo:<ci.github_repository>:ref:refs/heads/<branch>``
==========================================  ===================================================

GitHub's OIDC provider is account-wide (IAM allows one per URL): a stack creates it (and leaves it
behind when destroyed) unless ``ci.create_github_oidc_provider`` is false or
``ci.github_oidc_provider_arn`` names it: then it trusts the one another stack in the same account
created, and its roles get no rights on it. The shipped stacks share one account: dev creates it.

Prod is changed only through the CI deployer: every human role is read-only there. Human roles
are assumed by the account's own principals (``arn:aws:iam::<account>:root`` in the trust policy,
so the caller's identity policy must also allow ``sts:AssumeRole`` on the role), on two paths:

- IAM Identity Center (``aws sso login``): the account's permission-set roles,
  ``arn:aws:iam::<account>:role/aws-reserved/sso.amazonaws.com[/<region>]/AWSReservedSSO_*``,
  matched on ``aws:PrincipalArn``. Their sessions carry no ``aws:MultiFactorAuthPresent``
  (Identity Center enforces MFA at sign-in, a setting of the Identity Center instance).
- IAM users: only with MFA (``aws:MultiFactorAuthPresent``).

The CI deployer and, outside prod, the platform admin hold customer managed policies, one per
group of services (``identity_policies.POLICY_GROUPS``), named ``<role>-<group>``: their
statements exceed IAM's 10,240 characters for a role's inline policies together.

Attributes for other components (the EKS access entries map these to Kubernetes groups):

- ``platform_admin``: Output[str], the platform admin role ARN
- ``ml_engineer``: dict[team, Output[str]], each team's ML engineer role ARN
- ``data_scientist``: dict[team, Output[str]], each team's data scientist role ARN
- ``auditor``: Output[str]
- ``ci_deployer``: Output[str]
- ``github_oidc_provider_arn``: Output[str]

Team roles reach only their team's resources: endpoints, models and configs named
``mlplat-<env>-<team>-*``, the ``teams/<team>/`` prefix of the artifacts bucket, registry and
prediction items whose partition key is qualified by the team (``dynamodb:LeadingKeys`` like
``<team>/*``), the team's execution role (PassRole, to SageMaker only). No policy names a model,
so adding one to a stack leaves every role as it is. The statements are in
``components/identity_policies.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import identity_policies as policies
from components.base import PlatformComponent
from components.iam_documents import Principal, Statement, render, render_output
from infra.declarations import EnvironmentSpec
from infra.declarations.tags import Ownership

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
# GitHub's intermediate certificate thumbprints; IAM no longer checks them for this provider,
# but older API versions require one.
GITHUB_THUMBPRINTS = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
]
AUDITOR_MANAGED_POLICIES = (
    "arn:aws:iam::aws:policy/SecurityAudit",
    "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
)


def identity_center_role_patterns(account: str) -> tuple[str, ...]:
    """The ARNs of the account's IAM Identity Center permission-set roles.

    IAM Identity Center creates ``AWSReservedSSO_<permission set>_<suffix>`` under
    ``/aws-reserved/sso.amazonaws.com/<region>/``, or without the region when the Identity Center
    instance is in us-east-1 ("Referencing permission sets in resource policies", IAM Identity
    Center User Guide). Only Identity Center can create roles on that path.
    """
    base = f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com"
    return (f"{base}/AWSReservedSSO_*", f"{base}/*/AWSReservedSSO_*")


def human_trust(account: str) -> str:
    """People assume roles from the account's own identities: through IAM Identity Center, whose
    sessions carry no MFA key (it enforces MFA at sign-in), or as IAM users with MFA."""
    return render(
        [
            Statement(
                "AssumeFromIdentityCenter",
                ("sts:AssumeRole",),
                principal=Principal.account(account),
                conditions={
                    "ArnLike": {"aws:PrincipalArn": identity_center_role_patterns(account)}
                },
            ),
            Statement(
                "AssumeWithMfa",
                ("sts:AssumeRole",),
                principal=Principal.account(account),
                conditions={"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            ),
        ]
    )


def github_subject(repository: str, branch: str) -> str:
    return f"repo:{repository}:ref:refs/heads/{branch}"


def ci_trust(provider_arn: str, repository: str, branch: str) -> list[Statement]:
    return [
        Statement(
            "GitHubActionsOidc",
            ("sts:AssumeRoleWithWebIdentity",),
            principal=Principal.federated(provider_arn),
            conditions={
                "StringEquals": {
                    f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
                    f"{GITHUB_OIDC_HOST}:sub": github_subject(repository, branch),
                }
            },
        )
    ]


@dataclass(frozen=True)
class DataArns:
    """The ARNs role policies are scoped to (Outputs resolved before documents are built)."""

    artifacts_bucket_arn: pulumi.Input[str]
    capture_bucket_arn: pulumi.Input[str]
    registry_table_arn: pulumi.Input[str]
    predictions_table_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]


class PlatformIdentity(PlatformComponent):
    TYPE = "mlplat:identity:PlatformIdentity"

    def __init__(
        self,
        name: str,
        *,
        spec: EnvironmentSpec,
        account: pulumi.Input[str],
        data: DataArns,
        execution_role_arns: Mapping[str, pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, opts=opts)
        self._spec = spec
        self._account = account
        self._data = data
        env = spec.name.value
        self._scope = policies.Scope(
            environment=env,
            region=spec.settings.region,
            production=spec.is_production,
            manages_github_oidc_provider=spec.settings.ci.creates_github_oidc_provider,
            runner_connection_arn=spec.settings.ci.deploy_runner_connection_arn,
            route_zone_id=spec.settings.routes.private_zone_id,
            route_domain=spec.settings.routes.domain,
            github_token_secret=spec.settings.lifecycle.github_token_secret,
        )

        self.github_oidc_provider_arn: pulumi.Output[str] = self._github_oidc_provider(name)

        self.platform_admin = self._human_role(
            f"mlplat-{env}-platform-admin",
            policies.platform_admin,
            owner=None,
            # Outside prod it deploys too: its statements outgrow one role's inline quota.
            managed=not spec.is_production,
        )
        self.ml_engineer: dict[str, pulumi.Output[str]] = {}
        self.data_scientist: dict[str, pulumi.Output[str]] = {}
        for team in spec.teams:
            team_scope = policies.TeamScope(team=team.name)
            # None when the team serves nothing on SageMaker here: nothing to pass.
            execution_role = execution_role_arns.get(team.name)
            self.ml_engineer[team.name] = self._human_role(
                f"mlplat-{env}-{team.name}-ml-engineer",
                lambda scope, arns, ts=team_scope: policies.ml_engineer(scope, arns, ts),
                owner=Ownership(team=team.name),
                extra_inputs=(execution_role,) if execution_role is not None else (),
            )
            self.data_scientist[team.name] = self._human_role(
                f"mlplat-{env}-{team.name}-data-scientist",
                lambda scope, arns, ts=team_scope: policies.data_scientist(scope, arns, ts),
                owner=Ownership(team=team.name),
            )
        self.auditor = self._auditor(f"mlplat-{env}-auditor")
        self.ci_deployer = self._ci_deployer(f"mlplat-{env}-ci-deployer")
        self.register_outputs(
            {
                "platformAdmin": self.platform_admin,
                "mlEngineer": self.ml_engineer,
                "dataScientist": self.data_scientist,
                "auditor": self.auditor,
                "ciDeployer": self.ci_deployer,
                "githubOidcProviderArn": self.github_oidc_provider_arn,
            }
        )

    def _github_oidc_provider(self, name: str) -> pulumi.Output[str]:
        ci = self._spec.settings.ci
        if not ci.creates_github_oidc_provider:
            # Owned by another stack in this account: IAM refuses a second one for the URL.
            return pulumi.Output.from_input(self._account).apply(ci.github_oidc_provider_arn_in)
        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-github-oidc",
            url=f"https://{GITHUB_OIDC_HOST}",
            client_id_lists=["sts.amazonaws.com"],
            thumbprint_lists=GITHUB_THUMBPRINTS,
            # Other stacks in the account may trust it: destroying this one leaves it in place.
            opts=self.child_opts(retain_on_delete=True),
        )
        return provider.arn

    def _resolved(self, *extra: pulumi.Input[str]) -> tuple:
        d = self._data
        return (
            self._account,
            d.artifacts_bucket_arn,
            d.capture_bucket_arn,
            d.registry_table_arn,
            d.predictions_table_arn,
            d.kms_key_arn,
            *extra,
        )

    def _human_role(
        self,
        role_name: str,
        build: Callable[..., list[Statement]],
        *,
        owner: Ownership | None,
        extra_inputs: tuple = (),
        managed: bool = False,
    ) -> pulumi.Output[str]:
        role = _RoleWithPolicy(
            role_name,
            trust=pulumi.Output.from_input(self._account).apply(human_trust),
            statements=self._statements(build, *extra_inputs),
            managed=managed,
            owner=owner,
            opts=self.child_opts(),
        )
        return role.arn

    def _statements(self, build: Callable[..., list[Statement]], *extra_inputs):
        """``select(statements) -> document``: a policy document built once the ARNs resolve."""

        def document(select: Callable[[list[Statement]], list[Statement]]) -> pulumi.Output[str]:
            return render_output(
                lambda account, *values: select(
                    build(self._scope, policies.Arns(account, *values))
                ),
                *self._resolved(*extra_inputs),
            )

        return document

    def _auditor(self, role_name: str) -> pulumi.Output[str]:
        role = aws.iam.Role(
            role_name,
            name=role_name,
            assume_role_policy=pulumi.Output.from_input(self._account).apply(human_trust),
            max_session_duration=3600,
            opts=self.child_opts(),
        )
        for index, policy_arn in enumerate(AUDITOR_MANAGED_POLICIES):
            aws.iam.RolePolicyAttachment(
                f"{role_name}-managed-{index}",
                role=role.name,
                policy_arn=policy_arn,
                opts=self.child_opts(),
            )
        return role.arn

    def _ci_deployer(self, role_name: str) -> pulumi.Output[str]:
        ci = self._spec.settings.ci
        role = _RoleWithPolicy(
            role_name,
            trust=render_output(
                lambda arn: ci_trust(arn, ci.github_repository, ci.branch),
                self.github_oidc_provider_arn,
            ),
            statements=self._statements(policies.ci_deployer),
            managed=True,
            owner=None,
            opts=self.child_opts(),
        )
        return role.arn


def attach_grouped_policies(
    parent: PlatformComponent,
    name: str,
    role: aws.iam.Role,
    groups: Iterable[str],
    document_of: Callable[[str], pulumi.Input[str]],
) -> None:
    """One customer managed policy per group of services (``policies.POLICY_GROUPS``), named
    ``<name>-<group>`` and attached to ``role``: IAM caps a role's inline policies at 10,240
    characters together and each managed policy at 6,144. ``document_of(group)``: its document."""
    for group in groups:
        policy = aws.iam.Policy(
            f"{name}-policy-{group}",
            name=f"{name}-{group}",
            description=f"{name}: {', '.join(policies.POLICY_GROUPS[group])}",
            policy=document_of(group),
            opts=parent.child_opts(),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-attach-{group}",
            role=role.name,
            policy_arn=policy.arn,
            opts=parent.child_opts(),
        )


class _RoleWithPolicy(PlatformComponent):
    """A named role with its statements: one inline policy, or (``managed``) one customer
    managed policy per group of services, each attached to the role."""

    TYPE = "mlplat:identity:Role"

    def __init__(
        self, name: str, *, trust, statements, managed: bool, owner: Ownership | None, opts
    ) -> None:
        super().__init__(name, owner=owner, opts=opts)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=name,
            assume_role_policy=trust,
            max_session_duration=3600,
            opts=self.child_opts(),
        )
        if managed:
            attach_grouped_policies(
                self,
                name,
                self.role,
                policies.POLICY_GROUPS,
                lambda group: statements(lambda listed: policies.grouped(listed)[group]),
            )
        else:
            aws.iam.RolePolicy(
                f"{name}-policy",
                role=self.role.id,
                policy=statements(lambda listed: listed),
                opts=self.child_opts(),
            )
        self.arn: pulumi.Output[str] = self.role.arn
        self.register_outputs({"arn": self.arn})
