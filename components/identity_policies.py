"""The statements of each persona's policy, from plain values (resolved ARNs, team).

Kept apart from the role resources so each document can be read and tested as data. Scoping:

- environment resources are named ``mlplat-<env>-*`` (Pulumi's auto-names keep the prefix);
- a team's are ``mlplat-<env>-<team>-*`` (endpoints, their configs and models), the
  ``teams/<team>/`` prefix of the artifacts bucket, and DynamoDB items whose partition key is
  qualified by the team (``dynamodb:LeadingKeys`` like ``<team>/*``, ``components.data``). No
  statement names a model, so declaring one changes no policy;
- ``"*"`` resources only for actions AWS offers without resource-level permissions
  (``RESOURCE_LESS_ACTIONS``), or creation guarded by a request-tag or region condition.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.cost_controls import BILLING_REGION
from components.data import team_key_pattern
from components.iam_documents import Statement

# Actions AWS documents without resource-level permissions: "*" is the only resource they take.
RESOURCE_LESS_ACTIONS = (
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:ListMetrics",
    "cloudwatch:ListDashboards",
    "sagemaker:ListEndpoints",
    "sagemaker:ListEndpointConfigs",
    "sagemaker:ListModels",
)

_SAGEMAKER_DEPLOY = (
    "sagemaker:CreateModel",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:DeleteModel",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DeleteEndpoint",
    "sagemaker:AddTags",
    "sagemaker:DeleteTags",
)
_SAGEMAKER_READ = (
    "sagemaker:DescribeModel",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeEndpoint",
    "sagemaker:ListTags",
)
# Item reads: each takes the dynamodb:LeadingKeys condition (DescribeTable does not).
_REGISTRY_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
_REGISTRY_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem")


@dataclass(frozen=True)
class Scope:
    environment: str
    region: str
    production: bool

    @property
    def prefix(self) -> str:
        return f"mlplat-{self.environment}-"


@dataclass(frozen=True)
class TeamScope:
    team: str


@dataclass(frozen=True)
class Arns:
    account: str
    artifacts_bucket_arn: str
    capture_bucket_arn: str
    registry_table_arn: str
    predictions_table_arn: str
    kms_key_arn: str
    execution_role_arn: str | None = None


def _sagemaker_arns(scope: Scope, arns: Arns, name_prefix: str) -> tuple[str, ...]:
    # SageMaker lowercases names in ARNs; the platform's names are lowercase already.
    base = f"arn:aws:sagemaker:{scope.region}:{arns.account}"
    return tuple(
        f"{base}:{kind}/{name_prefix}*" for kind in ("endpoint", "endpoint-config", "model")
    )


def _metrics_read() -> Statement:
    return Statement("ReadMetrics", RESOURCE_LESS_ACTIONS, ("*",))


def _dashboards_read(scope: Scope, arns: Arns) -> Statement:
    return Statement(
        "ReadDashboardsAndAlarms",
        ("cloudwatch:GetDashboard", "cloudwatch:DescribeAlarms"),
        (
            f"arn:aws:cloudwatch::{arns.account}:dashboard/mlplat-{scope.environment}*",
            f"arn:aws:cloudwatch:*:{arns.account}:alarm:{scope.prefix}*",
        ),
    )


def _key_use(arns: Arns, scope: Scope, actions: tuple[str, ...]) -> Statement:
    return Statement(
        "UsePlatformKeyThroughDataServices",
        actions,
        (arns.kms_key_arn,),
        conditions={
            "StringEquals": {
                "kms:ViaService": (
                    f"s3.{scope.region}.amazonaws.com",
                    f"dynamodb.{scope.region}.amazonaws.com",
                )
            }
        },
    )


def _team_items(team: TeamScope) -> dict:
    # Every partition key the request touches (ForAllValues) must be one of the team's.
    return {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": (team_key_pattern(team.team),)}}


def _team_read(scope: Scope, arns: Arns, team: TeamScope) -> list[Statement]:
    team_prefix = f"{scope.prefix}{team.team}-"
    return [
        Statement("ReadTeamEndpoints", _SAGEMAKER_READ, _sagemaker_arns(scope, arns, team_prefix)),
        _metrics_read(),
        _dashboards_read(scope, arns),
        Statement(
            "ReadTeamEndpointLogs",
            ("logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"),
            (
                f"arn:aws:logs:{scope.region}:{arns.account}:log-group:/aws/sagemaker/Endpoints/{team_prefix}*",
            ),
        ),
        Statement(
            "ReadTeamArtifacts",
            ("s3:GetObject",),
            (f"{arns.artifacts_bucket_arn}/teams/{team.team}/*",),
        ),
        Statement(
            "ListTeamArtifacts",
            ("s3:ListBucket",),
            (arns.artifacts_bucket_arn,),
            conditions={"StringLike": {"s3:prefix": (f"teams/{team.team}/*",)}},
        ),
        Statement(
            "ReadTeamRegistryItems",
            _REGISTRY_READ,
            (arns.registry_table_arn,),
            conditions=_team_items(team),
        ),
        Statement(
            "ReadTeamPredictions",
            ("dynamodb:Query", "dynamodb:GetItem"),
            (arns.predictions_table_arn,),
            conditions=_team_items(team),
        ),
    ]


def _team_register(scope: Scope, arns: Arns, team: TeamScope) -> list[Statement]:
    return [
        Statement(
            "UploadTeamArtifacts",
            ("s3:PutObject",),
            (f"{arns.artifacts_bucket_arn}/teams/{team.team}/*",),
        ),
        Statement(
            "RegisterTeamModelVersions",
            _REGISTRY_WRITE,
            (arns.registry_table_arn,),
            conditions=_team_items(team),
        ),
    ]


def _team_key_use(scope: Scope, arns: Arns) -> Statement:
    # Reading SSE-KMS objects and items needs Decrypt; writing them (non-prod only) a data key.
    actions = ("kms:Decrypt",) if scope.production else ("kms:Decrypt", "kms:GenerateDataKey")
    return _key_use(arns, scope, actions)


def ml_engineer(scope: Scope, arns: Arns, team: TeamScope) -> list[Statement]:
    statements = [*_team_read(scope, arns, team), _team_key_use(scope, arns)]
    if scope.production:
        return statements
    team_prefix = f"{scope.prefix}{team.team}-"
    statements += _team_register(scope, arns, team)
    statements += [
        Statement(
            "DeployTeamEndpoints", _SAGEMAKER_DEPLOY, _sagemaker_arns(scope, arns, team_prefix)
        ),
    ]
    if arns.execution_role_arn:
        statements.append(
            Statement(
                "PassTeamExecutionRole",
                ("iam:PassRole",),
                (arns.execution_role_arn,),
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
    return statements


def data_scientist(scope: Scope, arns: Arns, team: TeamScope) -> list[Statement]:
    statements = [*_team_read(scope, arns, team), _team_key_use(scope, arns)]
    if scope.production:
        return statements
    return statements + _team_register(scope, arns, team)


def _environment_read(scope: Scope, arns: Arns) -> list[Statement]:
    return [
        Statement("ReadEndpoints", _SAGEMAKER_READ, _sagemaker_arns(scope, arns, scope.prefix)),
        _metrics_read(),
        _dashboards_read(scope, arns),
        Statement(
            "ReadTables",
            (
                "dynamodb:DescribeTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeTimeToLive",
            ),
            (arns.registry_table_arn, arns.predictions_table_arn),
        ),
        Statement(
            "ReadBucketConfiguration",
            (
                "s3:GetBucketPolicy",
                "s3:GetBucketVersioning",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:GetBucketPublicAccessBlock",
            ),
            (arns.artifacts_bucket_arn, arns.capture_bucket_arn),
        ),
    ]


def platform_admin(scope: Scope, arns: Arns) -> list[Statement]:
    """Humans administer non-prod environments; in prod they read (CI changes prod)."""
    statements = _environment_read(scope, arns)
    if scope.production:
        return statements
    return statements + _deploy(scope, arns, sid_prefix="Manage")


def ci_deployer(scope: Scope, arns: Arns) -> list[Statement]:
    return _environment_read(scope, arns) + _deploy(scope, arns, sid_prefix="Deploy")


def _deploy(scope: Scope, arns: Arns, *, sid_prefix: str) -> list[Statement]:
    """What `pulumi up` needs for the environment's resources, by service, scoped by name."""
    account, region, prefix = arns.account, scope.region, scope.prefix
    env_tag = {"StringEquals": {"aws:RequestTag/mlplat:environment": scope.environment}}
    env_resource_tag = {"StringEquals": {"aws:ResourceTag/mlplat:environment": scope.environment}}
    return [
        Statement(
            f"{sid_prefix}Endpoints", _SAGEMAKER_DEPLOY, _sagemaker_arns(scope, arns, prefix)
        ),
        Statement(
            f"{sid_prefix}Tables",
            (
                "dynamodb:CreateTable",
                "dynamodb:UpdateTable",
                "dynamodb:DeleteTable",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:UpdateTimeToLive",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
                "dynamodb:ListTagsOfResource",
            ),
            (f"arn:aws:dynamodb:{region}:{account}:table/{prefix}*",),
        ),
        Statement(
            f"{sid_prefix}Buckets",
            (
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:ListBucket",
                "s3:GetBucket*",
                "s3:PutBucket*",
                "s3:DeleteBucketPolicy",
                "s3:GetLifecycleConfiguration",
                "s3:PutLifecycleConfiguration",
                "s3:GetEncryptionConfiguration",
                "s3:PutEncryptionConfiguration",
                "s3:GetAccelerateConfiguration",
                "s3:GetReplicationConfiguration",
            ),
            (f"arn:aws:s3:::{prefix}*",),
        ),
        # kms:CreateKey takes no resource; the request must tag the key with this environment.
        Statement(
            f"{sid_prefix}CreateKeys",
            ("kms:CreateKey", "kms:TagResource"),
            ("*",),
            conditions=env_tag,
        ),
        Statement(
            f"{sid_prefix}Keys",
            (
                "kms:DescribeKey",
                "kms:GetKeyPolicy",
                "kms:PutKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:EnableKeyRotation",
                "kms:ScheduleKeyDeletion",
                "kms:ListResourceTags",
                "kms:UntagResource",
            ),
            (f"arn:aws:kms:*:{account}:key/*",),
            conditions=env_resource_tag,
        ),
        # Alias changes are authorised on the alias and on the key it points to (no tag on
        # an alias, so no tag condition here).
        Statement(
            f"{sid_prefix}KeyAliases",
            ("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"),
            (
                f"arn:aws:kms:*:{account}:alias/mlplat-{scope.environment}*",
                f"arn:aws:kms:*:{account}:key/*",
            ),
        ),
        Statement(
            f"{sid_prefix}Roles",
            (
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:UpdateRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePolicy",
                "iam:GetRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:ListInstanceProfilesForRole",
            ),
            (f"arn:aws:iam::{account}:role/{prefix}*",),
        ),
        Statement(
            f"{sid_prefix}ManagedPolicyAttachments",
            ("iam:AttachRolePolicy", "iam:DetachRolePolicy"),
            (f"arn:aws:iam::{account}:role/{prefix}*",),
            # Never the broad AWS managed policies (the policy pack denies them too).
            conditions={
                "ArnNotLike": {
                    "iam:PolicyARN": (
                        "arn:aws:iam::aws:policy/AdministratorAccess",
                        "arn:aws:iam::aws:policy/*FullAccess",
                        "arn:aws:iam::aws:policy/PowerUserAccess",
                    )
                }
            },
        ),
        Statement(
            f"{sid_prefix}PassPlatformRoles",
            ("iam:PassRole",),
            (f"arn:aws:iam::{account}:role/{prefix}*",),
            conditions={
                "StringEquals": {
                    "iam:PassedToService": (
                        "sagemaker.amazonaws.com",
                        "eks.amazonaws.com",
                        "ec2.amazonaws.com",
                    )
                }
            },
        ),
        Statement(
            f"{sid_prefix}OidcProviders",
            (
                "iam:CreateOpenIDConnectProvider",
                "iam:GetOpenIDConnectProvider",
                "iam:DeleteOpenIDConnectProvider",
                "iam:TagOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
            ),
            (
                f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com",
                f"arn:aws:iam::{account}:oidc-provider/oidc.eks.{region}.amazonaws.com/id/*",
            ),
        ),
        Statement(
            f"{sid_prefix}ScalingTargets",
            (
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:DescribeScalingPolicies",
            ),
            ("*",),  # scalable targets are addressed by service resource id, not by ARN
            conditions={"StringEquals": {"aws:RequestedRegion": region}},
        ),
        Statement(
            f"{sid_prefix}AlarmsAndDashboards",
            (
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:TagResource",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutDashboard",
                "cloudwatch:GetDashboard",
                "cloudwatch:DeleteDashboards",
            ),
            (
                f"arn:aws:cloudwatch:*:{account}:alarm:{prefix}*",
                f"arn:aws:cloudwatch::{account}:dashboard/mlplat-{scope.environment}*",
            ),
        ),
        Statement(
            f"{sid_prefix}Topics",
            (
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:TagResource",
                "sns:ListTagsForResource",
            ),
            (f"arn:aws:sns:*:{account}:{prefix}*",),
        ),
        # Subscriptions are authorised without a resource (the service authorisation reference
        # lists "*" for these two).
        Statement(
            f"{sid_prefix}Subscriptions",
            ("sns:Unsubscribe", "sns:GetSubscriptionAttributes"),
            ("*",),
            conditions={"StringEquals": {"aws:RequestedRegion": (region, BILLING_REGION)}},
        ),
        Statement(
            f"{sid_prefix}Budgets",
            (
                "budgets:ModifyBudget",
                "budgets:ViewBudget",
                "budgets:TagResource",
                "budgets:ListTagsForResource",
            ),
            (f"arn:aws:budgets::{account}:budget/mlplat-{scope.environment}*",),
        ),
    ]
