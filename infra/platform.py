"""Composes the components for one environment spec. Each section is one concern's component."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.buckets import Expiry, SecureBucket
from components.cluster import EksCluster
from components.cluster_addons import ClusterAddons
from components.cost_controls import CostControls
from components.data import REGISTRY_HASH_KEY, REGISTRY_RANGE_KEY, DataTables
from components.deploy_runner import DeployRunner, runner_project_name
from components.eks_model import EksModel
from components.encryption import PlatformKey
from components.identity import DataArns, PlatformIdentity
from components.network import Network, Zone
from components.observability import MonitoredEndpoint, Observability
from components.registry_records import RegistryTable, record_served
from components.serving.fleet import build_multi_model_endpoints
from components.serving.multi_model_endpoint import VARIANT_NAME
from components.tenancy import (
    ClusterAccess,
    PersonaArns,
    TeamTenancy,
    access_plan,
    deploying_principal,
)
from infra.declarations import EnvironmentSpec
from model_packages.packaging import package_model


def available_zones() -> list[Zone]:
    """The region's Availability Zones (not Local or Wavelength Zones), with their zone IDs."""
    zones = aws.get_availability_zones(
        state="available",
        filters=[
            aws.GetAvailabilityZonesFilterArgs(name="zone-type", values=["availability-zone"])
        ],
    )
    return [Zone(name, zone_id) for name, zone_id in zip(zones.names, zones.zone_ids, strict=True)]


def build_platform(spec: EnvironmentSpec) -> None:
    env = spec.name.value
    protect = spec.is_production  # stateful resources are protected and retained in prod
    caller = aws.get_caller_identity()
    account = caller.account_id

    # --- data: keys, buckets and tables ------------------------------------------------------
    data = spec.settings.data
    key = PlatformKey(
        f"mlplat-{env}", description=f"mlplat {env} platform data", protect=protect, account=account
    )
    artifacts = SecureBucket(
        f"mlplat-{env}-artifacts",
        kms_key_arn=key.arn,
        protect=protect,
        noncurrent_version_days=data.noncurrent_version_days,
    )
    capture = SecureBucket(
        f"mlplat-{env}-capture",
        kms_key_arn=key.arn,
        protect=protect,
        noncurrent_version_days=data.noncurrent_version_days,
        # Serving writes data capture under capture/ (multi_model_endpoint.capture_prefix).
        expiries=(Expiry("capture/", data.capture_retention_days),),
    )
    tables = DataTables(
        f"mlplat-{env}",
        kms_key_arn=key.arn,
        shards=data.prediction_shards,
        protect=protect,
        capacity=data.provisioned_capacity,
        deletion_protection=data.table_deletion_protection,
    )

    registry = RegistryTable(
        name=tables.registry.name, hash_key=REGISTRY_HASH_KEY, range_key=REGISTRY_RANGE_KEY
    )

    # --- serving: SageMaker multi-model endpoints --------------------------------------------
    serving = build_multi_model_endpoints(
        spec,
        account=account,
        kms_key_arn=key.arn,
        artifacts_bucket=artifacts.name_output,
        artifacts_bucket_arn=artifacts.arn,
        capture_bucket=capture.name_output,
        capture_bucket_arn=capture.arn,
        registry=registry,
    )
    endpoints = serving.endpoints

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
        execution_role_arns={team: role.arn for team, role in serving.roles.items()},
    )

    # --- network: VPC, subnets, NAT, private endpoints ----------------------------------------
    network = Network(
        f"mlplat-{env}",
        settings=spec.settings.network,
        region=spec.settings.region,
        zones=available_zones(),
    )

    # --- compute: EKS cluster, add-ons, team tenancy, models served on EKS ----------------------
    cluster_admins, access_grants = access_plan(
        PersonaArns(
            ci_deployer=identity.ci_deployer,
            platform_admin=identity.platform_admin,
            auditor=identity.auditor,
            ml_engineer=identity.ml_engineer,
            data_scientist=identity.data_scientist,
        ),
        production=spec.is_production,
        # Whoever runs `pulumi up`: the Kubernetes provider authenticates as this principal.
        deployer=deploying_principal(aws.iam.get_session_context(arn=caller.arn).issuer_arn, env),
    )
    cluster = EksCluster(
        f"mlplat-{env}",
        settings=spec.settings.cluster,
        production=spec.is_production,
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        public_subnet_ids=network.public_subnet_ids,
        admin_principal_arns=cluster_admins,
        account=account,
    )
    ClusterAccess(f"mlplat-{env}-access", cluster_name=cluster.name_output, grants=access_grants)
    ci = spec.settings.ci
    if ci.deploy_runner_connection_arn is not None:
        # The deploy workflow's runner, inside the VPC: it reaches the cluster's private API.
        DeployRunner(
            f"mlplat-{env}-deploy-runner",
            project_name=runner_project_name(env),
            repository=ci.github_repository,
            connection_arn=ci.deploy_runner_connection_arn,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            cluster_security_group_id=cluster.security_group_id,
            region=spec.settings.region,
            account=account,
        )
    ClusterAddons(
        f"mlplat-{env}-addons",
        cluster=cluster,
        settings=spec.settings.cluster,
        region=spec.settings.region,
        account=account,
    )
    tenancies = {
        team.name: TeamTenancy(f"mlplat-{env}-{team.name}", team=team, provider=cluster.provider)
        for team in spec.teams
    }
    served = [hosted for endpoint in endpoints for hosted in endpoint.hosted]
    for model in spec.models_served_by("eks"):
        eks_model = EksModel(
            f"mlplat-{env}-{model.name}",
            model=model,
            package=package_model(model.name, model.version, model.artifact),
            namespace=tenancies[model.team].namespace_output,
            cluster=cluster,
            artifacts_bucket=artifacts.name_output,
            artifacts_bucket_arn=artifacts.arn,
            kms_key_arn=key.arn,
            region=spec.settings.region,
            registry=registry,
            environment=env,
        )
        served.append(eks_model)

    # --- registry: the route callers resolve, one served record per model -----------------------
    # Parented to the tables so its URN stays when a model moves between backends.
    for component in served:
        record_served(
            component.declaration,
            component.route,
            environment=env,
            table=registry,
            opts=pulumi.ResourceOptions(parent=tables),
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
        cluster_name=cluster.cluster_name if spec.settings.cluster.container_insights else None,
    )

    pulumi.export("registryTable", tables.registry.name)
    pulumi.export("predictionsTable", tables.predictions.name)
    pulumi.export(
        "roles",
        {
            "platformAdmin": identity.platform_admin,
            "auditor": identity.auditor,
            "ciDeployer": identity.ci_deployer,
        },
    )
    pulumi.export("artifactsBucket", artifacts.name_output)
    pulumi.export("endpoints", [endpoint.endpoint.name for endpoint in endpoints])
