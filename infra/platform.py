"""Composes the components for one environment spec. Each section is one concern's component."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.buckets import Expiry, SecureBucket
from components.cost_controls import CostControls
from components.data import REGISTRY_HASH_KEY, REGISTRY_RANGE_KEY, DataTables
from components.encryption import PlatformKey
from components.identity import DataArns, PlatformIdentity
from components.observability import MonitoredEndpoint, Observability
from components.serving.fleet import build_multi_model_endpoints
from components.serving.hosted_model import RegistryTable
from components.serving.multi_model_endpoint import VARIANT_NAME
from infra.declarations import EnvironmentSpec


def build_platform(spec: EnvironmentSpec) -> None:
    env = spec.name.value
    protect = spec.is_production  # stateful resources are protected and retained in prod
    account = aws.get_caller_identity().account_id

    # --- data: keys, buckets and tables ------------------------------------------------------
    data = spec.settings.data
    key = PlatformKey(
        f"mlplat-{env}", description=f"mlplat {env} platform data", protect=protect, account=account
    )
    artifacts = SecureBucket(
        f"mlplat-{env}-artifacts", kms_key_arn=key.arn, protect=protect,
        noncurrent_version_days=data.noncurrent_version_days,
    )
    capture = SecureBucket(
        f"mlplat-{env}-capture", kms_key_arn=key.arn, protect=protect,
        noncurrent_version_days=data.noncurrent_version_days,
        # Serving writes data capture under capture/ (multi_model_endpoint.capture_prefix).
        expiries=(Expiry("capture/", data.capture_retention_days),),
    )
    tables = DataTables(
        f"mlplat-{env}", kms_key_arn=key.arn, shards=data.prediction_shards, protect=protect,
        capacity=data.provisioned_capacity,
    )

    # --- serving: SageMaker multi-model endpoints --------------------------------------------
    endpoints = build_multi_model_endpoints(
        spec,
        account=account,
        kms_key_arn=key.arn,
        artifacts_bucket=artifacts.name_output,
        artifacts_bucket_arn=artifacts.arn,
        capture_bucket=capture.name_output,
        capture_bucket_arn=capture.arn,
        registry=RegistryTable(
            name=tables.registry.name, hash_key=REGISTRY_HASH_KEY, range_key=REGISTRY_RANGE_KEY
        ),
    )

    # --- identity: persona roles and the CI deployer ------------------------------------------
    identity = PlatformIdentity(
        f"mlplat-{env}-identity",
        spec=spec,
        account=account,
        data=DataArns(
            artifacts_bucket_arn=artifacts.arn,
            capture_bucket_arn=capture.arn,
            registry_table_arn=tables.registry_arn,
            predictions_table_arn=tables.predictions_arn,
            kms_key_arn=key.arn,
        ),
        # Each team's SageMaker execution role, which its ML engineers may pass in non-prod.
        execution_role_arns={e.plan.team: e.model.execution_role_arn for e in endpoints},
    )

    # --- cost controls: budgets, alert topic, billing alarm ------------------------------------
    cost = CostControls(f"mlplat-{env}", spec=spec, account=account)

    # --- observability: dashboard and endpoint alarms ------------------------------------------
    Observability(
        f"mlplat-{env}",
        region=spec.settings.region,
        endpoints=[
            MonitoredEndpoint(
                name=endpoint.plan.endpoint_name,
                variant=VARIANT_NAME,
                team=endpoint.plan.team,
                min_instances=endpoint.plan.min_instances,
                max_instances=endpoint.plan.max_instances,
            )
            for endpoint in endpoints
        ],
        alarm_topic_arn=cost.alerts_topic_arn,
    )

    pulumi.export("registryTable", tables.registry.name)
    pulumi.export("predictionsTable", tables.predictions.name)
    pulumi.export("roles", {"platformAdmin": identity.platform_admin, "auditor": identity.auditor,
                            "ciDeployer": identity.ci_deployer})
    pulumi.export("artifactsBucket", artifacts.name_output)
    pulumi.export("endpoints", [endpoint.endpoint.name for endpoint in endpoints])
