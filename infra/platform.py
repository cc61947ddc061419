"""Composes the components for one environment spec. Each section is one concern's component."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.buckets import SecureBucket
from components.encryption import PlatformKey
from components.serving.execution_role import TeamExecutionRole
from components.serving.multi_model_endpoint import MultiModelEndpoint
from components.serving.placement import plan_endpoints
from infra.declarations import EnvironmentSpec


def build_platform(spec: EnvironmentSpec) -> None:
    env = spec.name.value
    protect = spec.is_production  # stateful resources are protected and retained in prod
    account = aws.get_caller_identity().account_id

    # --- data: keys and buckets -------------------------------------------------------------
    key = PlatformKey(f"mlplat-{env}", description=f"mlplat {env} platform data", protect=protect)
    artifacts = SecureBucket(f"mlplat-{env}-artifacts", kms_key_arn=key.arn, protect=protect)
    capture = SecureBucket(f"mlplat-{env}-capture", kms_key_arn=key.arn, protect=protect)

    # --- serving: SageMaker multi-model endpoints --------------------------------------------
    roles = {
        team.name: TeamExecutionRole(
            f"mlplat-{env}-{team.name}-sagemaker",
            team=team.name,
            artifacts_bucket_arn=artifacts.arn,
            capture_bucket_arn=capture.arn,
            kms_key_arn=key.arn,
            region=spec.settings.region,
            account=account,
        )
        for team in spec.teams
    }
    endpoints = [
        MultiModelEndpoint(
            plan.endpoint_name,
            plan=plan,
            execution_role_arn=roles[plan.team].arn,
            artifacts_bucket=artifacts.name_output,
            capture_bucket=capture.name_output,
            kms_key_arn=key.arn,
        )
        for plan in plan_endpoints(spec)
    ]

    pulumi.export("artifactsBucket", artifacts.name_output)
    pulumi.export("endpoints", [endpoint.endpoint.name for endpoint in endpoints])
