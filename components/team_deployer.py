"""A team's CI deployer: the role that updates the team's serving stacks, and nothing else.

Created by the platform stack of a layered environment (one per team), assumed by GitHub Actions
jobs that run in the GitHub environment ``mlplat-<env>-<team>`` (whose protection rules say who may
deploy). What it may change follows the serving layer:

- SageMaker endpoints, endpoint configurations and models named ``mlplat-<env>-<team>-*`` and
  tagged ``mlplat:team=<team>`` (the name alone is not enough: team ``fraud``'s prefix is a prefix
  of team ``fraud-ops``'s), model package groups, scalable targets and IAM roles by that tag only;
- the team's prefix of the artifacts bucket and the team's registry items (``<team>/*`` keys);
- its alarms and dashboards (``mlplat-<env>-<team>-*``; ``mlplat-<env>-<team>``, ``..._<shard>``);
  in Kubernetes, the team's namespace only
  (an EKS access entry with a namespace-scoped access policy).

Nothing of the platform (VPC, cluster, keys, tables, buckets themselves, budgets) is in reach.

Two more limits follow the layers:
- **State.** With Pulumi's S3 backend (``ci.stateBucket``), the deployer reads and writes the state
  objects of its own serving stacks only, and reads the platform stack's checkpoint (its
  StackReference). Layout checked against pulumi/pulumi's DIY backend (pkg/backend/diy: store.go,
  state.go, lock.go, meta.go, stack_tags.go): for stack ``S`` of project ``P``,
  ``.pulumi/stacks/P/S.json`` (``.gz``/``.zst`` when compressed, ``.bak`` backups beside it),
  ``.pulumi/stacks/P/S.pulumi-tags``, ``.pulumi/{history,backups,journal}/P/S/...``, the lock
  ``.pulumi/locks/organization/P/S/<id>.json``, and ``.pulumi/meta.yaml`` (the layout version),
  listed with the prefixes ``.pulumi/stacks/P/S.json`` and ``.pulumi/<dir>/.../S/``.
- **A permissions boundary** (``mlplat-<env>-<team>-serving-boundary``): every role the deployer
  creates must carry it (``iam:PermissionsBoundary`` on CreateRole, PutRolePolicy,
  DeleteRolePolicy, PutRolePermissionsBoundary), it may never remove or edit it, so no role of
  the team can do more than the team's workloads need: its artifacts and capture prefixes, the
  platform key, image pulls, its endpoints' logs and metrics (IAM User Guide, "Permissions
  boundaries for IAM entities"; the pattern of AWS's managed AWSCODAPermissionsBoundary). A
  boundary does not limit what a resource policy grants; the platform's resource policies name
  no team role.
Condition keys: SageMaker, Application Auto Scaling and IAM support ``aws:RequestTag`` on create and
``aws:ResourceTag`` (IAM: ``iam:ResourceTag``) on existing resources (AWS Service Authorization
Reference, "Actions, resources, and condition keys for Amazon SageMaker / Application Auto Scaling /
AWS Identity and Access Management"; scalable targets are tagged when registered and access to
them can be granted by tag: docs.aws.amazon.com/autoscaling/application/userguide/
resource-tagging-support.html).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.batch import (
    JobPaths,
    batch_log_group,
    job_role_statements,
    start_job_statements,
)
from components.data import team_key_pattern
from components.iam_documents import Principal, Statement, render, render_output
from components.identity import GITHUB_OIDC_HOST, attach_grouped_policies
from components.identity_policies import (
    ALARMS_AND_DASHBOARDS_MANAGE,
    MODEL_ARCHIVES_MANAGE,
    LifecycleScope,
    bounded_pattern,
    grouped,
    lifecycle_deploy,
)
from components.lifecycle.events import package_group_name
from components.lifecycle.roles import (
    TeamPrefixes,
    invoke_destination_statement,
    pipeline_statements,
    start_pipelines_statements,
)
from components.lifecycle.team_lifecycle import role_name as lifecycle_role_name
from components.pipeline_permissions import team_pipeline_deploy
from components.route_dns import route_name_statements, team_name_patterns
from components.serving.execution_role import execution_statements
from components.serving.fleet import execution_role_name
from components.streaming import EVENTS_PREFIX, producer_statements
from infra.declarations.environment import TeamData
from infra.declarations.errors import Problem
from infra.declarations.routes import RouteSettings
from infra.declarations.tags import TAG_TEAM, Ownership
from infra.layers import platform_stack, team_serving_stacks
from infra.project import PROJECT_NAME
from lifecycle.events import topic_name
from lifecycle.monitoring.amp_namespaces import team_namespace_patterns

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
    "application-autoscaling:UntagResource",
    "application-autoscaling:ListTagsForResource",
)
# Describe* of Application Auto Scaling take no resource (AWS documents "*").
_SCALING_READ = (
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
)
# On existing roles of the team (CreateRole is granted apart: the role must carry the boundary).
_ROLES = (
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
)
# The actions whose request carries iam:PermissionsBoundary (the role's boundary): granted only
# on roles that have the team's (Service Authorization Reference, IAM: condition keys per action).
_BOUNDED_ROLES = ("iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary")
_BOUNDARY_EDITS = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:DeletePolicy",
    "iam:TagPolicy",
    "iam:UntagPolicy",
)
# Pulumi's DIY backend: the per-stack folders besides .pulumi/stacks and .pulumi/locks.
STATE_DIRS = ("history", "backups", "journal")


# Roles the platform creates per team (components/identity.py, this module), tagged with the team.
PLATFORM_TEAM_ROLES = ("ml-engineer", "data-scientist", "deployer", "caller")


@dataclass(frozen=True)
class DeployerScope:
    environment: str
    team: str
    region: str
    account: str
    artifacts_bucket_arn: str
    registry_table_arn: str
    kms_key_arn: str
    capture_bucket_arn: str
    state_bucket: str | None = None  # Pulumi's S3 backend; None with another backend
    project: str = PROJECT_NAME
    # The model routes' private zone and domain, when the environment serves them over TLS.
    route_zone_id: str | None = None
    route_domain: str | None = None
    token_secret: str = "mlplat/github-dispatch-token"
    # The S3 outside the platform that the team's models may use (Team.data): the boundary names
    # these prefixes, not each model's paths, so a model's new path changes no platform resource.
    data: TeamData = TeamData()
    # Whether the environment has Kafka (its EKS models then publish prediction events).
    streaming: bool = False

    @property
    def prefix(self) -> str:
        return f"mlplat-{self.environment}-{self.team}"

    @property
    def boundary_arn(self) -> str:
        return boundary_arn(self.account, self.environment, self.team)


def boundary_name(environment: str, team: str) -> str:
    return f"mlplat-{environment}-{team}-serving-boundary"


def boundary_arn(account: str, environment: str, team: str) -> str:
    """The team's permissions boundary: a serving stack's roles name it (its ARN is known from the
    account alone, so no contract field is needed)."""
    return f"arn:aws:iam::{account}:policy/{boundary_name(environment, team)}"


# IAM's cap on a customer managed policy, whitespace not counted (IAM and STS quotas).
MANAGED_POLICY_CHARS = 6_144


def boundary_size_problems(spec, account: str = "123456789012") -> list[Problem]:
    """Each team whose boundary would exceed IAM's managed policy size, named at its data
    prefixes (what makes a boundary grow): found from the declarations alone, before anything is
    registered. The platform's generated names are given their real shapes (buckets autonamed
    ``<name>-bucket-<7 characters>``, a key's UUID)."""
    env, region = spec.name.value, spec.settings.region

    def bucket(role: str) -> str:
        return f"arn:aws:s3:::mlplat-{env}-{role}-bucket-0123456"

    problems = []
    for index, team in enumerate(spec.teams):
        scope = DeployerScope(
            env,
            team.name,
            region,
            account,
            bucket("artifacts"),
            f"arn:aws:dynamodb:{region}:{account}:table/mlplat-{env}-model-registry",
            f"arn:aws:kms:{region}:{account}:key/01234567-89ab-cdef-0123-456789abcdef",
            bucket("capture"),
            data=team.data,
            streaming=spec.settings.streaming.enabled,
        )
        document = json.loads(render(boundary_statements(scope)))
        size = len(json.dumps(document, separators=(",", ":")))  # as IAM counts: no whitespace
        if size > MANAGED_POLICY_CHARS:
            problems.append(
                Problem(
                    f"teams[{index}].data",
                    f"team {team.name!r}'s permissions boundary would be {size} characters, over "
                    f"IAM's {MANAGED_POLICY_CHARS} for a managed policy: declare fewer, broader "
                    "prefixes (each names its folder in the boundary; write prefixes in buckets "
                    "of their own cost most)",
                )
            )
    return problems


def boundary_statements(s: DeployerScope) -> list[Statement]:
    """The most any role of the team may do: what its endpoints' execution role, its EKS models'
    roles (and their events producer), its lifecycle roles and its batch jobs need, built by
    those components' own statement builders on the team's names and data only (each role's
    statements fall within these, tested)."""
    workload = execution_statements(
        artifacts_bucket_arn=s.artifacts_bucket_arn,
        capture_bucket_arn=s.capture_bucket_arn,
        team=s.team,
        kms_key_arn=s.kms_key_arn,
        region=s.region,
        account=s.account,
        images=[],  # which images the team runs changes with its models: any image may be pulled
    )
    sagemaker = f"arn:aws:sagemaker:{s.region}:{s.account}"
    lifecycle = pipeline_statements(
        role_arn=f"arn:aws:iam::{s.account}:role/{lifecycle_role_name(s.prefix, 'pipeline')}",
        team=s.team,
        environment=s.environment,
        region=s.region,
        account=s.account,
        artifacts_bucket_arn=s.artifacts_bucket_arn,
        capture_bucket_arn=s.capture_bucket_arn,
        kms_key_arn=s.kms_key_arn,
        registry_table_arn=s.registry_table_arn,
        # Any of the environment's package groups (their names carry the model, not the team):
        # listing the team's would put its model list in the platform stack, and a model change
        # would then touch it. Each role's own policy names its models' groups only.
        package_groups=[package_group_name(s.environment, "*")],
        declared_data=list(s.data.read),
        images=[],  # pulls: PullServingImages below
    )
    artifacts = s.artifacts_bucket_arn.removeprefix("arn:aws:s3:::")
    capture = s.capture_bucket_arn.removeprefix("arn:aws:s3:::")
    team_batch = f"s3://{artifacts}/teams/{s.team}/batch/"
    events = f"s3://{capture}/{EVENTS_PREFIX.format(team=s.team)}"
    batch = _merged(
        statement
        for source in (*s.data.read, events)  # a job reads a declared prefix or its events
        for output in s.data.write  # and writes under a write prefix (validated)
        for statement in job_role_statements(
            JobPaths(
                input_uri=source,
                output_uri=output,
                archive_uri=f"s3://{artifacts}/teams/{s.team}/*",
                fallback_uri=team_batch,
                templates_uri=team_batch,
            ),
            kms_key_arn=s.kms_key_arn,
            log_group_arn=f"arn:aws:logs:{s.region}:{s.account}:log-group:"
            f"{batch_log_group(s.environment, s.team)}",
        )
    )
    # Alike statements of different roles merged (IAM: a managed policy within 6,144 characters).
    return _merged(
        [
            *workload,
            *(_prefixed("Lc", st) for st in lifecycle),
            *start_pipelines_statements(
                "StartTeamPipelines",
                # The team's own pipelines by name (a bare prefix reaches team growth-ops's too).
                [
                    f"{sagemaker}:pipeline/{s.prefix}-{kind}"
                    for kind in ("drift", "retrain", "retrain-on-demand")
                ],
            ),
            invoke_destination_statement(
                f"arn:aws:events:{s.region}:{s.account}:api-destination/"
                + bounded_pattern(f"{s.prefix}-dispatch")
                + "/*"  # the ARN ends in a generated id
            ),
            *(_prefixed("Batch", st) for st in batch),
            *(
                _prefixed("Batch", st)
                for st in start_job_statements(
                    f"arn:aws:emr-containers:{s.region}:{s.account}:/virtualclusters/*",
                    (f"arn:aws:iam::{s.account}:role/{s.prefix}-batch-*",),
                    operator="StringLike",
                )
                if s.data.write
            ),
            # The team's EKS models publish to the team's topic only (components/streaming.py).
            *(
                _prefixed("Events", st)
                for st in producer_statements(
                    f"arn:aws:kafka:{s.region}:{s.account}:cluster/*/*",
                    topic_name(s.environment, s.team),
                )
                if s.streaming
            ),
            Statement(
                "PullServingImages",
                ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
                ("arn:aws:ecr:*:*:repository/*",),
            ),
            # GetAuthorizationToken supports no resource-level permission (AWS documents "*").
            Statement("EcrLogin", ("ecr:GetAuthorizationToken",), ("*",)),
        ]
    )


def _merged(statements) -> list[Statement]:
    """Alike Allow statements as one: those with the same actions and conditions (resources
    united), then those with the same resources and conditions (actions united): an Allow of
    the union is the union of the Allows. Each job's and role's statements are alike but for
    their paths and a few actions, so the boundary stays within IAM's 6,144 characters."""
    once = _united(statements, lambda st: (st.actions, st.conditions), "resources")
    return _without_subsumed(_united(once, lambda st: (st.resources, st.conditions), "actions"))


IAM_WILDCARDS = frozenset("*?$")  # '$' starts a policy variable


def _without_subsumed(statements: list[Statement]) -> list[Statement]:
    """Without the Allows another, unconditioned Allow already covers (its actions include
    theirs, its resource patterns match each of theirs): a batch job's prefix-conditioned
    ListBucket adds nothing where the lifecycle lists the whole bucket."""

    def holds(wide: str, narrow: str) -> bool:
        """IAM's matching, kept to what is sure without evaluating patterns against patterns:
        equal, or ``wide`` is a literal stem and ``*`` and ``narrow`` starts with the stem."""
        stem = wide.removesuffix("*")
        return wide == narrow or (
            wide.endswith("*") and not IAM_WILDCARDS & set(stem) and narrow.startswith(stem)
        )

    def covers(wide: Statement, narrow: Statement) -> bool:
        return (
            wide.effect == narrow.effect == "Allow"
            and wide.principal == narrow.principal
            and not wide.conditions
            and set(narrow.actions) <= set(wide.actions)
            and all(any(holds(w, r) for w in wide.resources) for r in narrow.resources)
        )

    dropped: set[int] = set()
    for index, statement in enumerate(statements):
        # Against those not dropped: of two that cover each other, the later one stays.
        others = (s for i, s in enumerate(statements) if i != index and i not in dropped)
        if any(covers(other, statement) for other in others):
            dropped.add(index)
    return [s for index, s in enumerate(statements) if index not in dropped]


def _united(statements, key_of, field: str) -> list[Statement]:
    found: dict[str, Statement] = {}
    for statement in statements:
        key = json.dumps([statement.effect, *key_of(statement)], sort_keys=True, default=str)
        if key in found:
            united = tuple(dict.fromkeys((*getattr(found[key], field), *getattr(statement, field))))
            found[key] = dataclasses.replace(found[key], **{field: united})
        else:
            sid = statement.sid
            if any(s.sid == sid for s in found.values()):
                sid = f"{sid}{len(found)}"
            found[key] = dataclasses.replace(statement, sid=sid)
    return list(found.values())


def _prefixed(prefix: str, statement: Statement) -> Statement:
    """Another component's statement, its sid kept unique within the boundary."""
    return dataclasses.replace(statement, sid=f"{prefix}{statement.sid}")


def state_key_patterns(project: str, stack: str) -> tuple[str, ...]:
    """The S3 keys of one stack's state in Pulumi's DIY backend (``stack`` may be a glob)."""
    return (
        f".pulumi/stacks/{project}/{stack}.json*",
        f".pulumi/stacks/{project}/{stack}.pulumi-tags",
        *(f".pulumi/{folder}/{project}/{stack}/*" for folder in STATE_DIRS),
        f".pulumi/locks/organization/{project}/{stack}/*",
    )


def state_statements(s: DeployerScope) -> list[Statement]:
    """Its own serving stacks' state, read and written; the platform's checkpoint, read."""
    if s.state_bucket is None:
        return []
    bucket = f"arn:aws:s3:::{s.state_bucket}"
    own = [
        k
        for stack in team_serving_stacks(s.environment, s.team)
        for k in state_key_patterns(s.project, stack)
    ]
    platform = f".pulumi/stacks/{s.project}/{platform_stack(s.environment)}.json*"
    return [
        Statement("ReadStateLayout", ("s3:GetObject",), (f"{bucket}/.pulumi/meta.yaml",)),
        Statement(
            "TeamStackState",
            ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
            tuple(f"{bucket}/{key}" for key in own),
        ),
        Statement("ReadPlatformState", ("s3:GetObject",), (f"{bucket}/{platform}",)),
        Statement(
            "ListTeamState",
            ("s3:ListBucket",),
            (bucket,),
            conditions={"StringLike": {"s3:prefix": (*own, platform)}},
        ),
    ]


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


def rule_namespace_statement(s: DeployerScope) -> Statement:
    """The team's AMP rule groups namespaces (its serving shards' alert rules, in any of the
    account's workspaces: the names carry the environment and the team). ARN form
    ``rulegroupsnamespace/${WorkspaceId}/${Namespace}`` (Service Authorization Reference, AMP;
    parliament's iam_definition.json)."""
    return Statement(
        "TeamRuleNamespaces",
        # Create/Describe/Put/Delete; List...Namespaces needs a workspace ARN: not granted.
        (
            "aps:*RuleGroupsNamespace*",
            "aps:TagResource",
            "aps:UntagResource",
            "aps:ListTagsForResource",
        ),
        tuple(
            f"arn:aws:aps:{s.region}:{s.account}:rulegroupsnamespace/*/{name}"
            for name in team_namespace_patterns(s.environment, s.team)
        ),
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
            MODEL_ARCHIVES_MANAGE,
            (f"{s.artifacts_bucket_arn}/teams/{s.team}/*",),
        ),
        # A promoted declaration's artifact: the retrained model.tar.gz a team's training job
        # wrote (components/lifecycle); `pulumi up` downloads it to package it (packaging.py).
        Statement(
            "ReadTeamRetrainedModels",
            ("s3:GetObject",),
            (f"{s.artifacts_bucket_arn}/{TeamPrefixes(s.team).retraining}*",),
        ),
        Statement(
            "ListTeamArtifactVersions",
            ("s3:ListBucketVersions",),
            (s.artifacts_bucket_arn,),
            conditions={"StringLike": {"s3:prefix": (f"teams/{s.team}/*",)}},
        ),
        Statement(
            "UploadWithPlatformKey",
            ("kms:GenerateDataKey", "kms:Decrypt"),
            (s.kms_key_arn,),
            conditions={"StringEquals": {"kms:ViaService": f"s3.{s.region}.amazonaws.com"}},
        ),
        # An endpoint configuration encrypted with the platform key: SageMaker checks the key and
        # creates grants on it for the endpoint's instances, as the caller.
        Statement("DescribePlatformKey", ("kms:DescribeKey",), (s.kms_key_arn,)),
        Statement(
            "EndpointGrantsOnPlatformKey",
            ("kms:CreateGrant",),
            (s.kms_key_arn,),
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
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
            conditions={
                "StringEquals": {
                    f"aws:RequestTag/{TAG_TEAM}": s.team,
                    "iam:PermissionsBoundary": s.boundary_arn,
                }
            },
        ),
        Statement(
            "ChangeTeamRoles",
            _ROLES,
            (f"arn:aws:iam::{s.account}:role/*",),
            conditions={"StringEquals": {f"iam:ResourceTag/{TAG_TEAM}": s.team}},
        ),
        Statement(
            "ChangeBoundedTeamRoles",
            _BOUNDED_ROLES,
            (f"arn:aws:iam::{s.account}:role/*",),
            conditions={
                "StringEquals": {
                    f"iam:ResourceTag/{TAG_TEAM}": s.team,
                    "iam:PermissionsBoundary": s.boundary_arn,
                }
            },
        ),
        # A boundary is never the deployer's to remove or to widen.
        Statement(
            "KeepBoundaries",
            ("iam:DeleteRolePermissionsBoundary",),
            (f"arn:aws:iam::{s.account}:role/*",),
            effect="Deny",
        ),
        Statement("KeepBoundaryPolicy", _BOUNDARY_EDITS, (s.boundary_arn,), effect="Deny"),
        # The platform's roles of the team carry its tag too: never the deployer's to change.
        Statement(
            "KeepPlatformTeamRoles",
            ("iam:CreateRole", *_ROLES, *_BOUNDED_ROLES, "iam:PassRole", "iam:AttachRolePolicy"),
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
                # its further serving shards' (observability.team_dashboard_name)
                f"arn:aws:cloudwatch::{s.account}:dashboard/{s.prefix}_*",
            ),
        ),
        rule_namespace_statement(s),
        *state_statements(s),
        # The DNS names of the team's load balancers, and no other team's (route_dns).
        *(
            route_name_statements(
                s.route_zone_id, team_name_patterns(s.team, s.route_domain), "Team"
            )
            if s.route_zone_id and s.route_domain
            else ()
        ),
        # The team's lifecycle (components/lifecycle): names under the team's prefix, its own
        # schedule group, its lifecycle roles.
        *lifecycle_deploy(
            LifecycleScope(
                sid_prefix="Team",
                region=s.region,
                account=s.account,
                name_prefix=f"{s.prefix}-",
                role_pattern=f"{s.prefix}-lc-*",
                schedule_groups=s.prefix,
                token_secret=s.token_secret,
                exact_names=True,
            )
        ),
        *team_pipeline_deploy(s.region, s.account, s.environment, s.team),
    ]


def _deployer_groups(
    environment: str, team: str, region: str, state_bucket: str | None, routes
) -> list[str]:
    """The policy groups a team deployer's statements fill (IAM refuses an empty policy)."""
    placeholder = DeployerScope(
        environment,
        team,
        region,
        "000000000000",
        "arn:aws:s3:::artifacts",
        "arn:aws:dynamodb:::table/registry",
        "arn:aws:kms:::key/key",
        "arn:aws:s3:::capture",
        state_bucket=state_bucket,
        route_zone_id=routes.private_zone_id if routes else None,
        route_domain=routes.domain if routes else None,
    )
    return [g for g, listed in grouped(team_deployer_statements(placeholder)).items() if listed]


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
        capture_bucket_arn: pulumi.Input[str],
        cluster_name: pulumi.Input[str],
        namespace: pulumi.Input[str],
        state_bucket: str | None = None,
        routes: RouteSettings | None = None,
        token_secret: str = "mlplat/github-dispatch-token",
        data: TeamData | None = None,
        streaming: bool = False,
        opts=None,
    ) -> None:
        super().__init__(name, owner=Ownership(team=team), opts=opts)

        def scoped(build):
            return render_output(
                lambda *values: build(
                    DeployerScope(
                        environment,
                        team,
                        region,
                        *values,
                        state_bucket=state_bucket,
                        token_secret=token_secret,
                        route_zone_id=routes.private_zone_id if routes else None,
                        route_domain=routes.domain if routes else None,
                        data=data or TeamData(),
                        streaming=streaming,
                    )
                ),
                account,
                artifacts_bucket_arn,
                registry_table_arn,
                kms_key_arn,
                capture_bucket_arn,
            )

        self.boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=boundary_name(environment, team),
            description=f"The most any role of team {team}'s serving stacks may do",
            policy=scoped(boundary_statements),
            opts=self.child_opts(),
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=name,
            assume_role_policy=pulumi.Output.from_input(github_oidc_provider_arn).apply(
                lambda arn: team_deployer_trust(arn, repository, environment, team)
            ),
            max_session_duration=3600,
            opts=self.child_opts(),
        )
        # IAM caps a role's inline policies at 10,240 characters: one customer managed policy per
        # group of services (identity_policies.POLICY_GROUPS, like the CI deployer's), each within
        # 6,144, attached to the role. The platform deployer creates them; the team's cannot touch
        # them (it has no iam:*Policy* action). Which groups hold statements depends on settings
        # alone (state bucket, routes), never on resolved values: a placeholder scope tells.
        attach_grouped_policies(
            self,
            name,
            self.role,
            _deployer_groups(environment, team, region, state_bucket, routes),
            lambda group: scoped(lambda scope: grouped(team_deployer_statements(scope))[group]),
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
