"""A team's multi-model endpoints (placement, archives) and the role they run as."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from components.registry_records import RegistryTable
from components.serving.artifacts import package_hosted_models
from components.serving.execution_role import TeamExecutionRole
from components.serving.multi_model_endpoint import EndpointPlan, MultiModelEndpoint
from components.serving.placement import plan_endpoints
from infra.declarations import EnvironmentSpec


def execution_role_name(environment: str, team: str) -> str:
    return f"mlplat-{environment}-{team}-sagemaker"


def execution_role_arn_pattern(environment: str, team: str, account: str) -> str:
    """Every ARN the team's execution role can have: its IAM name is the logical name of its
    ``aws.iam.Role`` plus the random suffix Pulumi's auto-naming adds. Stacks that cannot see the
    role (the platform layer, when the role lives in the team's serving stack) grant on this."""
    return f"arn:aws:iam::{account}:role/{execution_role_name(environment, team)}-role-*"


def team_plans(spec: EnvironmentSpec, team: str) -> list[EndpointPlan]:
    """The endpoints of ``team`` as placed for the whole environment (the lock pins them)."""
    return [plan for plan in plan_endpoints(spec) if plan.team == team]


def team_execution_role(
    spec: EnvironmentSpec,
    team: str,
    *,
    account: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str],
    artifacts_bucket_arn: pulumi.Input[str],
    capture_bucket_arn: pulumi.Input[str],
    permissions_boundary: pulumi.Input[str] | None = None,
) -> TeamExecutionRole:
    """The role ``team``'s endpoints run as (every team has one, used or not)."""
    return TeamExecutionRole(
        execution_role_name(spec.name.value, team),
        team=team,
        artifacts_bucket_arn=artifacts_bucket_arn,
        capture_bucket_arn=capture_bucket_arn,
        kms_key_arn=kms_key_arn,
        region=spec.settings.region,
        account=account,
        images=sorted({plan.image for plan in team_plans(spec, team)}),
        permissions_boundary=permissions_boundary,
    )


def build_multi_model_endpoints(
    spec: EnvironmentSpec,
    team: str,
    *,
    execution_role_arn: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str],
    artifacts_bucket: pulumi.Input[str],
    capture_bucket: pulumi.Input[str],
    registry: RegistryTable | None,
    holds: Callable[[str], bool] = lambda endpoint_name: True,
) -> list[MultiModelEndpoint]:
    """Every SageMaker model of ``team`` on its endpoint; only the endpoints ``holds`` (a stack
    holding one shard of the team's serving layer builds that shard's endpoints)."""
    plans = [plan for plan in team_plans(spec, team) if holds(plan.endpoint_name)]
    packages = package_hosted_models(plans)
    return [
        MultiModelEndpoint(
            plan.endpoint_name,
            plan=plan,
            packages=packages,
            environment=spec.name.value,
            execution_role_arn=execution_role_arn,
            artifacts_bucket=artifacts_bucket,
            capture_bucket=capture_bucket,
            kms_key_arn=kms_key_arn,
            registry=registry,
        )
        for plan in plans
    ]
