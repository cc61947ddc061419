"""An environment's multi-model endpoints: placement, archives, roles."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.registry_records import RegistryTable
from components.serving.artifacts import package_hosted_models
from components.serving.execution_role import TeamExecutionRole
from components.serving.multi_model_endpoint import MultiModelEndpoint
from components.serving.placement import plan_endpoints
from infra.declarations import EnvironmentSpec


@dataclass(frozen=True)
class Fleet:
    endpoints: list[MultiModelEndpoint]
    roles: dict[str, TeamExecutionRole]  # by team; every team has one, used or not


def build_multi_model_endpoints(
    spec: EnvironmentSpec,
    *,
    account: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str],
    artifacts_bucket: pulumi.Input[str],
    artifacts_bucket_arn: pulumi.Input[str],
    capture_bucket: pulumi.Input[str],
    capture_bucket_arn: pulumi.Input[str],
    registry: RegistryTable | None,
) -> Fleet:
    """Every SageMaker model of the spec on its endpoint, and each team's execution role."""
    env = spec.name.value
    plans = plan_endpoints(spec)
    packages = package_hosted_models(plans)
    images_by_team: dict[str, set[str]] = {}
    for plan in plans:
        images_by_team.setdefault(plan.team, set()).add(plan.image)
    roles = {
        team: TeamExecutionRole(
            f"mlplat-{env}-{team}-sagemaker",
            team=team,
            artifacts_bucket_arn=artifacts_bucket_arn,
            capture_bucket_arn=capture_bucket_arn,
            kms_key_arn=kms_key_arn,
            region=spec.settings.region,
            account=account,
            images=sorted(images_by_team.get(team, ())),
        )
        for team in sorted(team.name for team in spec.teams)
    }
    endpoints = [
        MultiModelEndpoint(
            plan.endpoint_name,
            plan=plan,
            packages=packages,
            environment=env,
            execution_role_arn=roles[plan.team].arn,
            artifacts_bucket=artifacts_bucket,
            capture_bucket=capture_bucket,
            kms_key_arn=kms_key_arn,
            registry=registry,
        )
        for plan in plans
    ]
    return Fleet(endpoints, roles)
