"""The statements of each persona's policy, from plain values (resolved ARNs, team).

Kept apart from the role resources so each document can be read and tested as data. Scoping:

- environment resources are named ``mlplat-<env>-*`` (Pulumi's auto-names keep the prefix);
- a team's are ``mlplat-<env>-<team>-*`` (endpoints, their configs and models), the
  ``teams/<team>/`` prefix of the artifacts bucket, and DynamoDB items whose partition key is
  qualified by the team (``dynamodb:LeadingKeys`` like ``<team>/*``, ``components.data``). No
  statement names a model, so declaring one changes no policy;
- ``"*"`` resources only for actions AWS offers without resource-level permissions
  (``RESOURCE_LESS_ACTIONS``), or creation guarded by a request-tag or region condition.

What the deploying roles must be able to do is data: ``policies/provider_actions.json`` lists
the actions the provider calls per resource type; the pack's ``iam-deployer-permission-complete``
rule and ``tests/data/test_iam_permissions.py`` hold these statements to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.cost_controls import BILLING_REGION
from components.data import team_key_pattern
from components.deploy_runner import connection_service
from components.iam_documents import Statement
from components.lifecycle.events import NAME_LIMIT
from components.pipeline_permissions import pipeline_deploy
from components.route_auth import deploy_statements as route_auth_deploy
from components.route_dns import route_name_statements

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
    # False when another stack in the account owns GitHub's OIDC provider
    # (ci.githubOidcProviderArn): this one's roles then get no rights on it.
    manages_github_oidc_provider: bool = True
    # The deploy runner's GitHub connection (ci.deployRunnerConnectionArn), when there is one.
    runner_connection_arn: str | None = None
    # The private zone and domain of the model routes' names (routes.*), when TLS is configured.
    route_zone_id: str | None = None
    route_domain: str | None = None
    # The Secrets Manager secret of the promotion path's GitHub token (lifecycle settings).
    github_token_secret: str = "mlplat/github-dispatch-token"

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


# What a deployer needs to create, update, tag and delete alarms and dashboards (the provider's
# calls for both types, policies/provider_actions.json); the environment's and a team's deployers.
ALARMS_AND_DASHBOARDS_MANAGE = (
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:DeleteAlarms",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:TagResource",
    "cloudwatch:UntagResource",
    "cloudwatch:ListTagsForResource",
    "cloudwatch:PutDashboard",
    "cloudwatch:GetDashboard",
    "cloudwatch:DeleteDashboards",
)

# What a deployer needs on model archives (aws.s3.BucketObjectv2): the environment's deployer on
# the artifacts bucket, a team's on its prefix.
MODEL_ARCHIVES_MANAGE = (
    "s3:PutObject",
    "s3:GetObject",
    "s3:DeleteObject",
    # Objects in a versioned bucket are deleted version by version.
    "s3:DeleteObjectVersion",
    "s3:PutObjectTagging",
    "s3:GetObjectTagging",
)


# What a deployer needs for the model lifecycle (components/lifecycle; the provider's calls,
# policies/provider_actions.json); the environment's and a team's deployers, by name prefix.
LIFECYCLE_PIPELINES = (
    "sagemaker:CreatePipeline",
    "sagemaker:DescribePipeline",
    "sagemaker:UpdatePipeline",
    "sagemaker:DeletePipeline",
    "sagemaker:AddTags",
    "sagemaker:DeleteTags",
    "sagemaker:ListTags",
)
LIFECYCLE_SCHEDULES = (
    "scheduler:CreateSchedule",
    "scheduler:GetSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
)
LIFECYCLE_SCHEDULE_GROUPS = (
    "scheduler:CreateScheduleGroup",
    "scheduler:GetScheduleGroup",
    "scheduler:DeleteScheduleGroup",
    "scheduler:TagResource",
    "scheduler:UntagResource",
    "scheduler:ListTagsForResource",
)
LIFECYCLE_RULES = (
    "events:PutRule",
    "events:DescribeRule",
    "events:DeleteRule",
    "events:PutTargets",
    "events:ListTargetsByRule",
    "events:RemoveTargets",
    "events:TagResource",
    "events:UntagResource",
    "events:ListTagsForResource",
)
LIFECYCLE_DESTINATIONS = (
    "events:CreateConnection",
    "events:DescribeConnection",
    "events:UpdateConnection",
    "events:DeleteConnection",
    "events:CreateApiDestination",
    "events:DescribeApiDestination",
    "events:UpdateApiDestination",
    "events:DeleteApiDestination",
)
# EventBridge keeps a connection's credentials in a secret it creates as the caller.
LIFECYCLE_CONNECTION_SECRETS = (
    "secretsmanager:CreateSecret",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DescribeSecret",
    "secretsmanager:TagResource",
    "secretsmanager:DeleteSecret",
)


@dataclass(frozen=True)
class LifecycleScope:
    """Where a deployer may manage lifecycle resources: names under ``name_prefix``
    (``mlplat-<env>-`` or ``mlplat-<env>-<team>-``), the lifecycle roles matching
    ``role_pattern``, and the GitHub token secret it reads."""

    sid_prefix: str
    region: str
    account: str
    name_prefix: str
    role_pattern: str
    schedule_groups: str  # a name or a pattern: schedules live in their team's group
    token_secret: str = "mlplat/github-dispatch-token"
    # A team's deployer gets the lifecycle's own name shapes after its prefix
    # (components/lifecycle/team_lifecycle.py), not the prefix alone, which team growth shares
    # with team growth-ops.
    exact_names: bool = False

    def names(self, *shapes: str) -> tuple[str, ...]:
        if not self.exact_names:
            return (f"{self.name_prefix}*",)
        return tuple(bounded_pattern(f"{self.name_prefix}{shape}") for shape in shapes)


def bounded_pattern(name: str) -> str:
    """A name pattern that still matches when ``events.bounded`` shortens the name: a name over
    NAME_LIMIT keeps its first NAME_LIMIT - 9 characters and gains a digest."""
    head = NAME_LIMIT - 9
    core = name.rstrip("*")
    if len(core) > head or (core == name and len(name) > NAME_LIMIT):
        return f"{core[:head]}*"
    return name


def lifecycle_deploy(scope: LifecycleScope) -> list[Statement]:
    base = f"{scope.region}:{scope.account}"
    sid = scope.sid_prefix
    return [
        Statement(
            f"{sid}LifecyclePipelines",
            LIFECYCLE_PIPELINES,
            tuple(
                f"arn:aws:sagemaker:{base}:pipeline/{name}"
                for name in scope.names("drift", "retrain", "retrain-on-demand")
            ),
        ),
        Statement(
            f"{sid}LifecycleSchedules",
            LIFECYCLE_SCHEDULES,
            (f"arn:aws:scheduler:{base}:schedule/{scope.schedule_groups}/*",),
        ),
        Statement(
            f"{sid}LifecycleScheduleGroups",
            LIFECYCLE_SCHEDULE_GROUPS,
            (f"arn:aws:scheduler:{base}:schedule-group/{scope.schedule_groups}",),
        ),
        Statement(
            f"{sid}LifecycleRules",
            LIFECYCLE_RULES,
            tuple(
                f"arn:aws:events:{base}:rule/{name}" for name in scope.names("retrain-*", "promote")
            ),
        ),
        Statement(
            f"{sid}LifecycleDestinations",
            LIFECYCLE_DESTINATIONS,
            (
                # Their ARNs end in a generated id (connection/<name>/<id>): both forms.
                *(
                    f"arn:aws:events:{base}:{kind}/{n}{tail}"
                    for kind, shape in (("connection", "github"), ("api-destination", "dispatch"))
                    for n in scope.names(shape)
                    for tail in ("", "/*")
                ),
            ),
        ),
        Statement(
            f"{sid}LifecycleConnectionSecrets",
            LIFECYCLE_CONNECTION_SECRETS,
            tuple(
                f"arn:aws:secretsmanager:{base}:secret:events!connection/{name}"
                for name in scope.names("github/*")
            ),
        ),
        # The token the promotion path authorises with (read when deploying; a person stores it).
        Statement(
            f"{sid}LifecycleGithubToken",
            ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
            (f"arn:aws:secretsmanager:{base}:secret:{scope.token_secret}-??????",),
        ),
        Statement(
            f"{sid}PassLifecycleRoles",
            ("iam:PassRole",),
            (f"arn:aws:iam::{scope.account}:role/{scope.role_pattern}",),
            conditions={
                "StringEquals": {
                    "iam:PassedToService": (
                        "sagemaker.amazonaws.com",
                        "scheduler.amazonaws.com",
                        "events.amazonaws.com",
                    )
                }
            },
        ),
    ]


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
                "s3:ListBucketVersions",
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
                "kms:UpdateKeyDescription",
                "kms:ListResourceTags",
                "kms:UntagResource",
            ),
            (f"arn:aws:kms:*:{account}:key/*",),
            conditions=env_resource_tag,
        ),
        # The provider finds an alias by listing them; ListAliases takes no resource.
        Statement(f"{sid_prefix}ListKeyAliases", ("kms:ListAliases",), ("*",)),
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
        # The deployers' own permissions are customer managed policies named after them.
        Statement(
            f"{sid_prefix}ManagedPolicies",
            (
                "iam:CreatePolicy",
                "iam:DeletePolicy",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicyVersions",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicyVersion",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ),
            (f"arn:aws:iam::{account}:policy/{prefix}*",),
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
                        "codebuild.amazonaws.com",  # the deploy runner's role
                        "grafana.amazonaws.com",  # the Grafana workspace's role
                        "scheduler.amazonaws.com",  # batch schedules' role (batch.py)
                        "firehose.amazonaws.com",  # the event sinks' roles (streaming.py)
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
                "iam:UntagOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
                "iam:AddClientIDToOpenIDConnectProvider",
                "iam:RemoveClientIDFromOpenIDConnectProvider",
            ),
            (
                *(
                    (f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com",)
                    if scope.manages_github_oidc_provider
                    else ()
                ),
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
                # The provider tags every scalable target it registers.
                "application-autoscaling:TagResource",
                "application-autoscaling:UntagResource",
                "application-autoscaling:ListTagsForResource",
            ),
            ("*",),  # scalable targets are addressed by service resource id, not by ARN
            conditions={"StringEquals": {"aws:RequestedRegion": region}},
        ),
        # A target-tracking policy creates and deletes its CloudWatch alarms with the caller's
        # permissions; Application Auto Scaling names them
        # "TargetTracking-<resource id>-AlarmHigh|Low-<uuid>" (endpoint/<name>/..., table/<name>).
        Statement(
            f"{sid_prefix}TargetTrackingAlarms",
            ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"),
            (f"arn:aws:cloudwatch:{region}:{account}:alarm:TargetTracking-*/{prefix}*",),
        ),
        Statement(
            f"{sid_prefix}AlarmsAndDashboards",
            ALARMS_AND_DASHBOARDS_MANAGE,
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
                "sns:UntagResource",
                "sns:ListTagsForResource",
            ),
            (f"arn:aws:sns:*:{account}:{prefix}*",),
        ),
        # Subscriptions are authorised without a resource (the service authorisation reference
        # lists "*" for these).
        Statement(
            f"{sid_prefix}Subscriptions",
            ("sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes"),
            ("*",),
            conditions={"StringEquals": {"aws:RequestedRegion": (region, BILLING_REGION)}},
        ),
        Statement(
            f"{sid_prefix}Budgets",
            (
                "budgets:ModifyBudget",
                "budgets:ViewBudget",
                "budgets:TagResource",
                "budgets:UntagResource",
                "budgets:ListTagsForResource",
            ),
            (f"arn:aws:budgets::{account}:budget/mlplat-{scope.environment}*",),
        ),
        *_deploy_models(scope, arns, sid_prefix),
        *_deploy_compute(scope, arns, sid_prefix),
        *(
            route_name_statements(scope.route_zone_id, (f"*.{scope.route_domain}",), sid_prefix)
            if scope.route_zone_id and scope.route_domain
            else ()
        ),
        *lifecycle_deploy(
            LifecycleScope(
                sid_prefix=sid_prefix,
                region=region,
                account=account,
                name_prefix=prefix,
                role_pattern=f"{prefix}*-lc-*",
                schedule_groups=f"{prefix}*",
                token_secret=scope.github_token_secret,
            )
        ),
        *_deploy_prometheus(scope, arns, sid_prefix),
        *pipeline_deploy(sid_prefix, region, account, scope.environment),
        *route_auth_deploy(sid_prefix, region, account, scope.environment),
    ]


# What the provider calls for an AMP workspace, its rules, alert manager and scraper.
_PROMETHEUS_MANAGE = (
    "aps:DescribeWorkspace",
    "aps:UpdateWorkspaceAlias",
    "aps:DeleteWorkspace",
    "aps:CreateLoggingConfiguration",
    "aps:DescribeLoggingConfiguration",
    "aps:UpdateLoggingConfiguration",
    "aps:DeleteLoggingConfiguration",
    "aps:CreateRuleGroupsNamespace",
    "aps:DescribeRuleGroupsNamespace",
    "aps:PutRuleGroupsNamespace",
    "aps:DeleteRuleGroupsNamespace",
    "aps:CreateAlertManagerDefinition",
    "aps:DescribeAlertManagerDefinition",
    "aps:PutAlertManagerDefinition",
    "aps:DeleteAlertManagerDefinition",
    "aps:CreateScraper",
    "aps:DescribeScraper",
    "aps:UpdateScraper",
    "aps:DeleteScraper",
    "aps:TagResource",
    "aps:UntagResource",
    "aps:ListTagsForResource",
)
# Vended log delivery (AMP's logging configuration) is authorised without a resource.
_LOG_DELIVERY = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)


def _deploy_prometheus(scope: Scope, arns: Arns, sid_prefix: str) -> list[Statement]:
    """AMP ids are generated (``ws-<uuid>``): scoped to the account and region, not by name."""
    account, region = arns.account, scope.region
    aps = f"arn:aws:aps:{region}:{account}"
    return [
        Statement(
            f"{sid_prefix}CreatePrometheusWorkspaces",
            ("aps:CreateWorkspace",),
            ("*",),
            conditions={"StringEquals": {"aws:RequestedRegion": region}},
        ),
        Statement(
            f"{sid_prefix}Prometheus",
            _PROMETHEUS_MANAGE,
            (
                f"{aps}:workspace/*",
                f"{aps}:rulegroupsnamespace/*",
                f"{aps}:scraper/*",
                # CreateScraper is authorised on the cluster it scrapes too.
                f"arn:aws:eks:{region}:{account}:cluster/mlplat-{scope.environment}*",
            ),
        ),
        Statement(
            f"{sid_prefix}PrometheusLogDelivery",
            _LOG_DELIVERY,
            ("*",),
            conditions={"StringEquals": {"aws:RequestedRegion": region}},
        ),
        Statement(
            f"{sid_prefix}PrometheusLogGroups",
            (
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:ListTagsForResource",
            ),
            (
                f"arn:aws:logs:{region}:{account}:log-group:/aws/vendedlogs/prometheus/"
                f"mlplat-{scope.environment}*",
            ),
        ),
        *_deploy_grafana(scope, arns, sid_prefix),
        # AMP encrypts the workspace with the platform key through a grant made as the caller.
        Statement(
            f"{sid_prefix}PrometheusKeyGrants",
            ("kms:CreateGrant",),
            (f"arn:aws:kms:{region}:{account}:key/*",),
            conditions={
                "StringEquals": {
                    "aws:ResourceTag/mlplat:environment": scope.environment,
                    "kms:ViaService": (
                        f"aps.{region}.amazonaws.com",
                        f"grafana.{region}.amazonaws.com",
                    ),
                },
                "Bool": {"kms:GrantIsForAWSResource": "true"},
            },
        ),
    ]


def _deploy_models(scope: Scope, arns: Arns, sid_prefix: str) -> list[Statement]:
    """What declaring a model writes: its package group, archive and registry record."""
    account, region, prefix = arns.account, scope.region, scope.prefix
    return [
        Statement(
            f"{sid_prefix}ModelPackageGroups",
            (
                "sagemaker:CreateModelPackageGroup",
                "sagemaker:DeleteModelPackageGroup",
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:AddTags",
                "sagemaker:DeleteTags",
                "sagemaker:ListTags",
            ),
            (f"arn:aws:sagemaker:{region}:{account}:model-package-group/{prefix}*",),
        ),
        Statement(
            f"{sid_prefix}ModelArchives",
            MODEL_ARCHIVES_MANAGE,
            (f"{arns.artifacts_bucket_arn}/*",),
        ),
        Statement(
            f"{sid_prefix}RegistryRecords",
            ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
            (arns.registry_table_arn,),
        ),
        # SSE-KMS uploads, and the grants SageMaker and EKS take on the key for their volumes.
        Statement(
            f"{sid_prefix}PlatformKeyData",
            ("kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"),
            (arns.kms_key_arn,),
        ),
        Statement(
            f"{sid_prefix}ServiceGrants",
            ("kms:CreateGrant",),
            (f"arn:aws:kms:*:{account}:key/*",),
            conditions={
                "Bool": {"kms:GrantIsForAWSResource": "true"},
                "StringEquals": {"aws:ResourceTag/mlplat:environment": scope.environment},
            },
        ),
    ]


# The service-linked roles the platform's resources need the first time they are created.
_SERVICE_LINKED = (
    "sagemaker.application-autoscaling.amazonaws.com",
    "dynamodb.application-autoscaling.amazonaws.com",
    "eks.amazonaws.com",
    "eks-nodegroup.amazonaws.com",
    "autoscaling.amazonaws.com",
    "spot.amazonaws.com",
    "scraper.aps.amazonaws.com",  # the AMP managed scraper's role (components.monitoring)
    "kafka.amazonaws.com",  # MSK's network interfaces (streaming.py)
    "emr-containers.amazonaws.com",  # EMR on EKS, on the first virtual cluster (batch.py)
)
# EC2 networking and launch templates. Describe calls support no resource-level permissions;
# creations must tag the new resource with this environment, changes only touch its resources.
_EC2_DESCRIBE = (
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeRouteTables",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeAddresses",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribePrefixLists",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeNetworkAcls",  # read with a VPC (its default network ACL)
)
_EC2_CREATE = (
    "ec2:CreateVpc",
    "ec2:CreateSubnet",
    "ec2:CreateRouteTable",
    "ec2:CreateInternetGateway",
    "ec2:CreateNatGateway",
    "ec2:AllocateAddress",
    "ec2:CreateSecurityGroup",
    "ec2:CreateVpcEndpoint",
    "ec2:CreateLaunchTemplate",
    "ec2:CreateTags",
)
_EC2_CHANGE = (
    "ec2:DeleteVpc",
    "ec2:ModifyVpcAttribute",
    "ec2:DeleteSubnet",
    "ec2:ModifySubnetAttribute",
    "ec2:DeleteRouteTable",
    "ec2:CreateRoute",
    "ec2:ReplaceRoute",
    "ec2:DeleteRoute",
    "ec2:AssociateRouteTable",
    "ec2:ReplaceRouteTableAssociation",
    "ec2:DisassociateRouteTable",
    "ec2:AttachInternetGateway",
    "ec2:DetachInternetGateway",
    "ec2:DeleteInternetGateway",
    "ec2:DeleteNatGateway",
    "ec2:ReleaseAddress",
    "ec2:DisassociateAddress",
    "ec2:DeleteSecurityGroup",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:ModifySecurityGroupRules",
    "ec2:ModifyVpcEndpoint",
    "ec2:DeleteVpcEndpoints",
    "ec2:CreateLaunchTemplateVersion",
    "ec2:ModifyLaunchTemplate",
    "ec2:DeleteLaunchTemplate",
    "ec2:DeleteTags",
)


def _deploy_compute(scope: Scope, arns: Arns, sid_prefix: str) -> list[Statement]:
    """The network and the EKS cluster, its node groups, add-ons and access entries."""
    account, region, env = arns.account, scope.region, scope.environment
    in_region = {"StringEquals": {"aws:RequestedRegion": region}}
    cluster = f"arn:aws:eks:{region}:{account}"
    return [
        Statement(f"{sid_prefix}NetworkRead", _EC2_DESCRIBE, ("*",), conditions=in_region),
        Statement(
            f"{sid_prefix}NetworkCreate",
            _EC2_CREATE,
            ("*",),
            conditions={
                **in_region,
                "StringEqualsIfExists": {"aws:RequestTag/mlplat:environment": env},
            },
        ),
        # Interface endpoints with private DNS associate the VPC with a hosted zone AWS owns
        # (a dependent action of ec2:CreateVpcEndpoint); its id is not known beforehand.
        Statement(
            f"{sid_prefix}EndpointPrivateDns",
            ("route53:AssociateVPCWithHostedZone",),
            ("*",),
        ),
        Statement(
            f"{sid_prefix}NetworkChange",
            _EC2_CHANGE,
            (f"arn:aws:ec2:{region}:{account}:*",),
            conditions={"StringEqualsIfExists": {"aws:ResourceTag/mlplat:environment": env}},
        ),
        # CreateCluster takes no resource type: a cluster ARN never matches it, "*" does.
        Statement(
            f"{sid_prefix}CreateCluster", ("eks:CreateCluster",), ("*",), conditions=in_region
        ),
        Statement(
            f"{sid_prefix}Cluster",
            (
                "eks:DeleteCluster",
                "eks:DescribeCluster",
                "eks:UpdateClusterConfig",
                "eks:UpdateClusterVersion",
                "eks:CreateNodegroup",
                "eks:DeleteNodegroup",
                "eks:DescribeNodegroup",
                "eks:UpdateNodegroupConfig",
                "eks:UpdateNodegroupVersion",
                "eks:CreateAddon",
                "eks:DeleteAddon",
                "eks:DescribeAddon",
                "eks:UpdateAddon",
                "eks:CreateAccessEntry",
                "eks:DeleteAccessEntry",
                "eks:DescribeAccessEntry",
                "eks:UpdateAccessEntry",
                "eks:AssociateAccessPolicy",
                "eks:DisassociateAccessPolicy",
                "eks:ListAssociatedAccessPolicies",
                "eks:TagResource",
                "eks:UntagResource",
                # Cluster, node group and add-on updates are waited on through DescribeUpdate.
                "eks:DescribeUpdate",
            ),
            (
                f"{cluster}:cluster/mlplat-{env}*",
                f"{cluster}:nodegroup/mlplat-{env}*/*/*",
                f"{cluster}:addon/mlplat-{env}*/*/*",
                f"{cluster}:access-entry/mlplat-{env}*/*",
            ),
        ),
        # The deploy runner (components/deploy_runner.py): its project, webhook and connection.
        Statement(
            f"{sid_prefix}DeployRunner",
            (
                "codebuild:CreateProject",
                "codebuild:UpdateProject",
                "codebuild:DeleteProject",
                "codebuild:BatchGetProjects",
                "codebuild:CreateWebhook",
                "codebuild:UpdateWebhook",
                "codebuild:DeleteWebhook",
            ),
            (f"arn:aws:codebuild:{region}:{account}:project/mlplat-{env}-*",),
        ),
        # The connection's actions carry its ARN's own prefix (codeconnections or
        # codestar-connections): IAM never matches one prefix's action to the other's resource.
        *(
            [
                Statement(
                    f"{sid_prefix}DeployRunnerConnection",
                    tuple(
                        f"{connection_service(scope.runner_connection_arn)}:{action}"
                        for action in ("PassConnection", "UseConnection")
                    ),
                    (scope.runner_connection_arn,),
                )
            ]
            if scope.runner_connection_arn
            else []
        ),
        Statement(
            f"{sid_prefix}ClusterCatalog",
            ("eks:DescribeAddonVersions", "eks:DescribeAddonConfiguration"),
            ("*",),  # catalogue reads without a resource (the service authorisation reference)
            conditions=in_region,
        ),
        Statement(
            f"{sid_prefix}ServiceLinkedRoles",
            ("iam:CreateServiceLinkedRole",),
            (f"arn:aws:iam::{account}:role/aws-service-role/*",),
            conditions={"StringEquals": {"iam:AWSServiceName": _SERVICE_LINKED}},
        ),
    ]


# IAM caps a role's inline policies at 10,240 characters together and each managed policy at
# 6,144 (whitespace not counted; IAM and STS quotas, IAM User Guide): the deploying roles'
# statements are split into customer managed policies, one per group of services. The groups are
# fixed, so how many policies exist never depends on resolved values.
POLICY_GROUPS: dict[str, tuple[str, ...]] = {
    "network": ("ec2", "route53"),
    # The deploy runner (CodeBuild project and its GitHub connection) exists to reach the cluster.
    "cluster": ("eks", "codebuild", "codeconnections", "codestar-connections"),
    "identity": ("iam", "cognito-idp"),
    "serving": ("sagemaker", "application-autoscaling"),
    "data": ("s3", "dynamodb", "kms"),
    "monitoring": ("cloudwatch", "sns", "budgets", "aps"),
    "lifecycle": ("scheduler", "events", "secretsmanager"),
    "dashboards": ("grafana", "sso", "organizations"),
    # Batch scoring on EMR on EKS and prediction events on Kafka (pipeline_permissions.py).
    "pipelines": ("emr-containers", "logs", "kafka", "kafka-cluster", "firehose"),
}


def grouped(statements: list[Statement]) -> dict[str, list[Statement]]:
    """Statements by policy group, from the service of each statement's first action."""
    group_of = {service: group for group, services in POLICY_GROUPS.items() for service in services}
    groups: dict[str, list[Statement]] = {group: [] for group in POLICY_GROUPS}
    for statement in statements:
        service = statement.actions[0].split(":", 1)[0]
        if service not in group_of:
            raise ValueError(f"{statement.sid}: no policy group holds service {service!r}")
        groups[group_of[service]].append(statement)
    return groups


def _deploy_grafana(scope: Scope, arns: Arns, sid_prefix: str) -> list[Statement]:
    """Amazon Managed Grafana (ids generated): its workspace, service account and token, role
    associations; creating an IAM Identity Center workspace registers an SSO application."""
    account, region = arns.account, scope.region
    return [
        Statement(
            f"{sid_prefix}CreateGrafanaWorkspaces",
            (
                "grafana:CreateWorkspace",
                "sso:CreateManagedApplicationInstance",
                "sso:DeleteManagedApplicationInstance",
                "sso:DescribeRegisteredRegions",
                "sso:GetSharedSsoConfiguration",
                "organizations:DescribeOrganization",
            ),
            ("*",),
            conditions={"StringEquals": {"aws:RequestedRegion": region}},
        ),
        Statement(
            f"{sid_prefix}GrafanaWorkspaces",
            (
                "grafana:DescribeWorkspace",
                "grafana:UpdateWorkspace",
                "grafana:DeleteWorkspace",
                "grafana:DescribeWorkspaceConfiguration",
                "grafana:UpdateWorkspaceConfiguration",
                "grafana:CreateWorkspaceServiceAccount",
                "grafana:ListWorkspaceServiceAccounts",
                "grafana:DeleteWorkspaceServiceAccount",
                "grafana:CreateWorkspaceServiceAccountToken",
                "grafana:ListWorkspaceServiceAccountTokens",
                "grafana:DeleteWorkspaceServiceAccountToken",
                "grafana:UpdatePermissions",
                "grafana:ListPermissions",
                "grafana:TagResource",
                "grafana:UntagResource",
                "grafana:ListTagsForResource",
            ),
            (f"arn:aws:grafana:{region}:{account}:/workspaces/*",),
        ),
    ]
