"""Composes the components for one environment spec. Each section is one concern's component.

The platform layer is built here; each team's serving layer by ``infra.serving``: in the single
stack for every team, right here, or in the team's own stack (``infra.serving_program``), which
reaches this layer only through the contract it exports (``infra.contract``).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.alb_controller import AlbController
from components.batch import BatchPlatform
from components.batch_tenancy import BatchTenancy
from components.buckets import Expiry, SecureBucket
from components.cluster import EksCluster
from components.cluster_addons import ON_SYSTEM_NODES, ClusterAddons
from components.cost_controls import CostControls
from components.data import REGISTRY_HASH_KEY, REGISTRY_RANGE_KEY, DataTables
from components.deploy_runner import DeployRunner, runner_project_name
from components.encryption import PlatformKey
from components.grafana import GrafanaDashboards
from components.identity import DataArns, PlatformIdentity
from components.lifecycle.team_lifecycle import LifecyclePlatform
from components.model_callers import ModelCaller
from components.monitoring import PrometheusMonitoring
from components.network import Network, Zone
from components.observability import Observability
from components.registry_records import RegistryTable
from components.route_auth import RouteTokenIssuer
from components.serving.fleet import execution_role_arn_pattern, team_execution_role
from components.streaming import PredictionStream
from components.team_alerts import TeamAlertTopics
from components.team_deployer import TeamDeployer, boundary_size_problems
from components.tenancy import (
    ClusterAccess,
    PersonaArns,
    TeamTenancy,
    access_plan,
    deploying_principal,
)
from infra.contract import export_contract
from infra.declarations import EnvironmentSpec, SpecError
from infra.layers import Layer, StackName
from infra.lifecycle import build_team_lifecycle
from infra.serving import PlatformView, StreamView, build_team_serving, monitored


def available_zones() -> list[Zone]:
    """The region's Availability Zones (not Local or Wavelength Zones), with their zone IDs."""
    zones = aws.get_availability_zones(
        state="available",
        filters=[
            aws.GetAvailabilityZonesFilterArgs(name="zone-type", values=["availability-zone"])
        ],
    )
    return [Zone(name, zone_id) for name, zone_id in zip(zones.names, zones.zone_ids, strict=True)]


def build_platform(spec: EnvironmentSpec, stack: StackName | None = None) -> None:
    """The platform layer of ``spec``; in the single stack (the default) all teams' serving too."""
    env = spec.name.value
    single = (stack or StackName(env, Layer.SINGLE)).layer is Layer.SINGLE
    teams = sorted(team.name for team in spec.teams)
    if not single:  # before anything is registered: a boundary IAM would refuse
        problems = boundary_size_problems(spec)
        if problems:
            raise SpecError(problems, source=f"stacks/{env}.py")
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

    # --- serving: each team's SageMaker execution role ----------------------------------------
    # Layered, a team's role is in its serving stack: the platform grants on the names it can have.
    execution_roles = {
        team: team_execution_role(
            spec,
            team,
            account=account,
            kms_key_arn=key.arn,
            artifacts_bucket_arn=artifacts.arn,
            capture_bucket_arn=capture.arn,
        ).arn
        if single
        else execution_role_arn_pattern(env, team, account)
        for team in teams
    }

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
        execution_role_arns=execution_roles,
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
    # Internal load balancers for the teams' EKS models, from their Ingress objects.
    alb_controller = AlbController(
        f"mlplat-{env}-alb-controller",
        cluster=cluster,
        vpc_id=network.vpc_id,
        routes=spec.settings.routes,
        region=spec.settings.region,
        account=account,
        protect=protect,
        node_selector=ON_SYSTEM_NODES,
    )
    tenancies = {
        team.name: TeamTenancy(
            f"mlplat-{env}-{team.name}",
            team=team,
            provider=cluster.provider,
            vpc_cidr=spec.settings.network.cidr,
            kafka=spec.settings.streaming.enabled,
        )
        for team in spec.teams
    }

    # --- identity: who may invoke each team's models -------------------------------------------
    # The token issuer of the teams' load balancers; only HTTPS listeners verify tokens, so an
    # environment without a certificate (outside prod) has none (README: "What is real here").
    issuer = (
        RouteTokenIssuer(
            f"mlplat-{env}-route-auth",
            environment=env,
            teams=teams,
            region=spec.settings.region,
            account=account,
            kms_key_arn=key.arn,
            production=spec.is_production,
        )
        if spec.settings.routes.tls
        else None
    )
    callers = {
        team: ModelCaller(
            f"mlplat-{env}-{team}-caller",
            environment=env,
            team=team,
            region=spec.settings.region,
            account=account,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            registry_table_arn=tables.registry_arn,
            credentials_secret_arn=issuer.secret_arns[team] if issuer else None,
            kms_key_arn=key.arn,
        ).arn
        for team in teams
    }
    # --- streaming: prediction events on Kafka, when the environment turns them on --------------
    streaming = spec.settings.streaming
    stream = (
        PredictionStream(
            f"mlplat-{env}-events",
            environment=env,
            settings=streaming,
            teams=teams,
            vpc_id=network.vpc_id,
            vpc_cidr=spec.settings.network.cidr,
            private_subnet_ids=network.private_subnet_ids,
            kms_key_arn=key.arn,
            capture_bucket_arn=capture.arn,
            account=account,
        )
        if streaming.enabled
        else None
    )

    # --- batch: namespaces where teams' Spark jobs run, and EMR on EKS's access to them ----------
    batch_teams = {t.name: t.batch_quota for t in spec.teams if t.batch_quota is not None}
    if batch_teams:
        BatchTenancy(
            f"mlplat-{env}-batch",
            teams=batch_teams,
            cluster_name=cluster.name_output,
            account=account,
            provider=cluster.provider,
        )

    # --- identity: each team's CI deployer, which may change only its serving stack ---------------
    declared = {t.name: t for t in spec.teams}
    team_deployers = {
        team: TeamDeployer(
            f"mlplat-{env}-{team}-deployer",
            environment=env,
            team=team,
            region=spec.settings.region,
            account=account,
            repository=spec.settings.ci.github_repository,
            github_oidc_provider_arn=identity.github_oidc_provider_arn,
            artifacts_bucket_arn=artifacts.arn,
            registry_table_arn=tables.registry_arn,
            kms_key_arn=key.arn,
            capture_bucket_arn=capture.arn,
            cluster_name=cluster.name_output,
            namespace=tenancy.namespace_output,
            state_bucket=spec.settings.ci.state_bucket,
            routes=spec.settings.routes,
            token_secret=spec.settings.lifecycle.github_token_secret,
            data=declared[team].data,  # what its models may read and write: the boundary's
            streaming=spec.settings.streaming.enabled,
        )
        for team, tenancy in tenancies.items()
        if not single  # the single stack has one deployer, the platform's
    }

    # --- serving: every team's models, in the single stack ---------------------------------------
    cost = CostControls(f"mlplat-{env}", spec=spec, account=account)
    platform = PlatformView(
        kms_key_arn=key.arn,
        artifacts_bucket=artifacts.name_output,
        artifacts_bucket_arn=artifacts.arn,
        capture_bucket=capture.name_output,
        registry=RegistryTable(
            name=tables.registry.name, hash_key=REGISTRY_HASH_KEY, range_key=REGISTRY_RANGE_KEY
        ),
        records_parent=tables,
        access_logs_bucket=alb_controller.logs_bucket,
        route_auth=issuer.route_auth if issuer else None,
        namespaces={team: tenancy.namespace_output for team, tenancy in tenancies.items()},
        cluster=cluster,
        batch=BatchPlatform(
            environment=env,
            region=spec.settings.region,
            account=account,
            cluster_name=cluster.name_output,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            artifacts_bucket=artifacts.name_output,
            capture_bucket=capture.name_output,
            kms_key_arn=key.arn,
            alerts_topic_arn=cost.alerts_topic_arn,
        ),
        streaming=StreamView(
            cluster_arn=stream.cluster_arn,
            topics=stream.topics,
            bootstrap_brokers=stream.bootstrap_brokers,
        )
        if stream
        else None,
    )
    endpoints = [
        endpoint
        for team in (teams if single else ())
        for endpoint in build_team_serving(
            spec, team, platform, execution_role_arn=execution_roles[team]
        )
    ]

    # (cost controls: budgets, alert topic, billing alarm: created above, before serving, whose
    # batch alarms notify its topic)

    # --- alerts: each team's topic, for its alarms and its Prometheus alerts ---------------------
    team_alerts = TeamAlertTopics(
        f"mlplat-{env}-team-alerts",
        environment=env,
        teams=spec.teams,
        account=account,
        protect=protect,
    )

    # --- lifecycle: every team's drift and retraining wiring, in the single stack ----------------
    for team in teams if single else ():
        build_team_lifecycle(
            spec,
            team,
            LifecyclePlatform(
                region=spec.settings.region,
                account=account,
                kms_key_arn=key.arn,
                artifacts_bucket=artifacts.name_output,
                artifacts_bucket_arn=artifacts.arn,
                capture_bucket=capture.name_output,
                capture_bucket_arn=capture.arn,
                registry_table=tables.registry.name,
                alarm_topic_arn=team_alerts.topic_arns[team],
            ),
        )

    # --- observability: dashboard and endpoint alarms (a serving stack has its own) ------------
    Observability(
        f"mlplat-{env}",
        region=spec.settings.region,
        endpoints=monitored(endpoints),
        alarm_topic_arn=cost.alerts_topic_arn,
        team_topic_arns=team_alerts.topic_arns,
        cluster_name=cluster.cluster_name if spec.settings.cluster.container_insights else None,
        # Where Grafana holds the dashboards, the CloudWatch one is not kept (the switch).
        cloudwatch_dashboard=not (
            spec.settings.monitoring.grafana and spec.settings.monitoring.prometheus
        ),
    )

    # --- monitoring: Prometheus (AMP) for the models on EKS, alerts to their teams --------------
    monitoring = spec.settings.monitoring
    prometheus = None
    if monitoring.prometheus:
        prometheus = PrometheusMonitoring(
            f"mlplat-{env}-prometheus",
            environment=env,
            region=spec.settings.region,
            account=account,
            models=spec.models,
            settings=monitoring,
            addons=spec.settings.cluster.addons,
            cluster=cluster,
            private_subnet_ids=network.private_subnet_ids,
            kms_key_arn=key.arn,
            team_topic_arns=team_alerts.topic_arns,
            platform_topic_arn=cost.alerts_topic_arn,
            topic_policies=team_alerts.policies,
            team_rules=single,  # layered: each serving shard has its models' rules
        )
        if monitoring.grafana:
            GrafanaDashboards(
                f"mlplat-{env}-grafana",
                environment=env,
                region=spec.settings.region,
                account=account,
                teams=teams,
                settings=monitoring,
                kms_key_arn=key.arn,
                amp_workspace_arn=prometheus.workspace.arn,
                prometheus_endpoint=prometheus.workspace.prometheus_endpoint,
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
    pulumi.export("callerRoles", callers)
    if issuer:
        # Where each team's callers read their route credentials (README: "Calling a model").
        pulumi.export("routeCredentials", issuer.secret_arns)
    if single:
        pulumi.export("endpoints", [endpoint.endpoint.name for endpoint in endpoints])
        return
    export_contract(
        cluster.cluster.kubeconfig_json,
        environment=env,
        region=spec.settings.region,
        account=account,
        kms_key_arn=key.arn,
        artifacts_bucket=artifacts.name_output,
        artifacts_bucket_arn=artifacts.arn,
        capture_bucket=capture.name_output,
        capture_bucket_arn=capture.arn,
        registry_table=tables.registry.name,
        alerts_topic_arn=cost.alerts_topic_arn,
        team_alert_topic_arns=team_alerts.topic_arns,
        cluster={
            "name": cluster.name_output,
            "oidcProviderArn": cluster.oidc_provider_arn,
            "oidcIssuer": cluster.oidc_issuer,
        },
        namespaces={team: tenancy.namespace_output for team, tenancy in tenancies.items()},
        access_logs_bucket=alb_controller.logs_bucket,
        route_auth=pulumi.Output.all(issuer.route_auth.issuer, issuer.route_auth.jwks_url).apply(
            lambda v: {"issuer": v[0], "jwksUrl": v[1]}
        )
        if issuer
        else None,
        streaming=pulumi.Output.all(stream.cluster_arn, stream.bootstrap_brokers).apply(
            lambda values: {
                "clusterArn": values[0],
                "topics": stream.topics,
                "bootstrapBrokers": values[1],
            }
        )
        if stream
        else None,
        prometheus={
            "workspaceId": prometheus.workspace.id,
            "workspaceArn": prometheus.workspace.arn,
        }
        if prometheus
        else None,
    )
    pulumi.export("teamDeployers", {team: role.arn for team, role in team_deployers.items()})
