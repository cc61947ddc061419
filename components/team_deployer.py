"""A team's CI deployer: the role that updates the team's serving stacks, and nothing else.

Created by the platform stack of a layered environment (one per team), assumed by GitHub Actions
jobs that run in the GitHub environment ``mlplat-<env>-<team>`` (whose protection rules say who may
deploy). What it may change follows the serving layer:

- SageMaker endpoints, endpoint configurations and models named ``mlplat-<env>-<team>-*`` and
  tagged ``mlplat:team=<team>`` (the name alone is not enough: team ``fraud``'s prefix is a prefix
  of team ``fraud-ops``'s), model package groups, scalable targets and IAM roles by that tag only;
- the team's prefix of the artifacts bucket and the team's registry items (``<team>/*`` keys);
- its alarms and dashboard (``mlplat-<env>-<team>*``); in Kubernetes, the team's namespace only
  (an EKS access entry with a namespace-scoped access policy).

Nothing of the platform (VPC, cluster, keys, tables, buckets themselves, budgets) is in reach.
Condition keys: SageMaker, Application Auto Scaling and IAM support ``aws:RequestTag`` on create and
``aws:ResourceTag`` (IAM: ``iam:ResourceTag``) on existing resources (AWS Service Authorization
Reference, "Actions, resources, and condition keys for Amazon SageMaker / Application Auto Scaling /
AWS Identity and Access Management"; scalable targets are tagged when registered and access to
them can be granted by tag: docs.aws.amazon.com/autoscaling/application/userguide/
resource-tagging-support.html).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.data import team_key_pattern
from components.iam_documents import Principal, Statement, render, render_output
from components.identity import GITHUB_OIDC_HOST
from components.identity_policies import ALARMS_AND_DASHBOARDS_MANAGE
from components.pipeline_permissions import team_pipeline_deploy
from components.serving.fleet import execution_role_name
from infra.declarations.tags import TAG_TEAM, Ownership

# Namespace-scoped edit rights: create, update and delete workloads in the namespace, no RBAC.
EKS_EDIT_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"

_SAGEMAKER_CREATE = (
    "sagemaker:CreateModel",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:AddTags",
)
_SAGEMAKER_CHANGE = (
    "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:DeleteModel",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DeleteEndpoint",
    "sagemaker:DeleteTags",
    "sagemaker:DescribeModel",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeEndpoint",
    "sagemaker:ListTags",
)
_PACKAGE_GROUPS = (
    "sagemaker:CreateModelPackageGroup",
    "sagemaker:DeleteModelPackageGroup",
    "sagemaker:DescribeModelPackageGroup",
)
_SCALING = (
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DeleteScalingPolicy",
    "application-autoscaling:TagResource",
)
# Describe* of Application Auto Scaling take no resource (AWS documents "*").
_SCALING_READ = (
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
)
_ROLES = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
)


# Roles the platform creates per team (components/identity.py, this module), tagged with the team.
PLATFORM_TEAM_ROLES = ("ml-engineer", "data-scientist", "deployer")


@dataclass(frozen=True)
class DeployerScope:
    environment: str
    team: str
    region: str
    account: str
    artifacts_bucket_arn: str
    registry_table_arn: str
    kms_key_arn: str

    @property
    def prefix(self) -> str:
        return f"mlplat-{self.environment}-{self.team}"


def github_environment(environment: str, team: str) -> str:
    """The GitHub Actions environment whose jobs may assume ``team``'s deployer."""
    return f"mlplat-{environment}-{team}"


def team_deployer_trust(provider_arn: str, repository: str, environment: str, team: str) -> str:
    subject = f"repo:{repository}:environment:{github_environment(environment, team)}"
    return render(
        [
            Statement(
                "GitHubActionsTeamEnvironment",
                ("sts:AssumeRoleWithWebIdentity",),
                principal=Principal.federated(provider_arn),
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
                        f"{GITHUB_OIDC_HOST}:sub": subject,
                    }
                },
            )
        ]
    )


def team_deployer_statements(s: DeployerScope) -> list[Statement]:
    """Least privilege for a team's serving stack, scoped by name prefix and ``mlplat:team``."""
    sagemaker = f"arn:aws:sagemaker:{s.region}:{s.account}"
    named = tuple(
        f"{sagemaker}:{kind}/{s.prefix}-*" for kind in ("endpoint", "endpoint-config", "model")
    )
    own = {"StringEquals": {f"aws:ResourceTag/{TAG_TEAM}": s.team}}
    tagging_own = {"StringEquals": {f"aws:RequestTag/{TAG_TEAM}": s.team}}
    return [
        Statement("CreateTeamEndpoints", _SAGEMAKER_CREATE, named, conditions=tagging_own),
        Statement("ChangeTeamEndpoints", _SAGEMAKER_CHANGE, named, conditions=own),
        Statement(
            "CreateTeamPackageGroups",
            _PACKAGE_GROUPS[:1] + ("sagemaker:AddTags",),
            (f"{sagemaker}:model-package-group/*",),
            conditions=tagging_own,
        ),
        Statement(
            "ChangeTeamPackageGroups",
            _PACKAGE_GROUPS[1:] + ("sagemaker:DeleteTags", "sagemaker:ListTags"),
            (f"{sagemaker}:model-package-group/*",),
            conditions=own,
        ),
        Statement(
            "CreateTeamScaling",
            _SCALING,
            (f"arn:aws:application-autoscaling:{s.region}:{s.account}:scalable-target/*",),
            conditions=tagging_own,
        ),
        Statement(
            "ChangeTeamScaling",
            _SCALING,
            (f"arn:aws:application-autoscaling:{s.region}:{s.account}:scalable-target/*",),
            conditions=own,
        ),
        Statement("ReadScaling", _SCALING_READ, ("*",)),
        Statement(
            "TeamArtifacts",
            ("s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:GetObjectTagging"),
            (f"{s.artifacts_bucket_arn}/teams/{s.team}/*",),
        ),
        Statement(
            "UploadWithPlatformKey",
            ("kms:GenerateDataKey", "kms:Decrypt"),
            (s.kms_key_arn,),
            conditions={"StringEquals": {"kms:ViaService": f"s3.{s.region}.amazonaws.com"}},
        ),
        Statement(
            "TeamRegistryItems",
            ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:GetItem"),
            (s.registry_table_arn,),
            conditions={
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": (team_key_pattern(s.team),)}
            },
        ),
        Statement(
            "CreateTeamRoles",
            ("iam:CreateRole", "iam:TagRole"),
            (f"arn:aws:iam::{s.account}:role/*",),
            conditions={"StringEquals": {f"aws:RequestTag/{TAG_TEAM}": s.team}},
        ),
        Statement(
            "ChangeTeamRoles",
            _ROLES,
            (f"arn:aws:iam::{s.account}:role/*",),
            conditions={"StringEquals": {f"iam:ResourceTag/{TAG_TEAM}": s.team}},
        ),
        # The platform's roles of the team carry its tag too: never the deployer's to change.
        Statement(
            "KeepPlatformTeamRoles",
            (*_ROLES, "iam:PassRole", "iam:AttachRolePolicy"),
            tuple(
                f"arn:aws:iam::{s.account}:role/{s.prefix}-{persona}"
                for persona in PLATFORM_TEAM_ROLES
            ),
            effect="Deny",
        ),
        Statement(
            "PassTeamExecutionRole",
            ("iam:PassRole",),
            (f"arn:aws:iam::{s.account}:role/{execution_role_name(s.environment, s.team)}-role-*",),
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        Statement(
            "TeamAlarmsAndDashboard",
            ALARMS_AND_DASHBOARDS_MANAGE,
            (
                f"arn:aws:cloudwatch:{s.region}:{s.account}:alarm:{s.prefix}-*",
                f"arn:aws:cloudwatch::{s.account}:dashboard/{s.prefix}",
            ),
        ),
        *team_pipeline_deploy(s.region, s.account, s.environment, s.team),
    ]


class TeamDeployer(PlatformComponent):
    """The role, its policy and its namespace-scoped access to the cluster."""

    TYPE = "mlplat:identity:TeamDeployer"

    def __init__(
        self,
        name: str,
        *,
        environment: str,
        team: str,
        region: str,
        account: pulumi.Input[str],
        repository: str,
        github_oidc_provider_arn: pulumi.Input[str],
        artifacts_bucket_arn: pulumi.Input[str],
        registry_table_arn: pulumi.Input[str],
        kms_key_arn: pulumi.Input[str],
        cluster_name: pulumi.Input[str],
        namespace: pulumi.Input[str],
        opts=None,
    ) -> None:
        super().__init__(name, owner=Ownership(team=team), opts=opts)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=name,
            assume_role_policy=pulumi.Output.from_input(github_oidc_provider_arn).apply(
                lambda arn: team_deployer_trust(arn, repository, environment, team)
            ),
            max_session_duration=3600,
            opts=self.child_opts(),
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=render_output(
                lambda *values: team_deployer_statements(
                    DeployerScope(environment, team, region, *values)
                ),
                account,
                artifacts_bucket_arn,
                registry_table_arn,
                kms_key_arn,
            ),
            opts=self.child_opts(),
        )
        entry = aws.eks.AccessEntry(
            f"{name}-access",
            cluster_name=cluster_name,
            principal_arn=self.role.arn,
            opts=self.child_opts(),
        )
        aws.eks.AccessPolicyAssociation(
            f"{name}-namespace-edit",
            cluster_name=cluster_name,
            principal_arn=entry.principal_arn,
            policy_arn=EKS_EDIT_POLICY,
            access_scope={"type": "namespace", "namespaces": [namespace]},
            opts=self.child_opts(),
        )
        self.arn: pulumi.Output[str] = self.role.arn
        self.register_outputs({"arn": self.arn})
