"""Composes one team's serving layer: its endpoints, its models on EKS. The single stack builds it
for every team on its own platform; a team's serving stack builds it on the platform's contract."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.batch import BatchPlatform, TeamBatch
from components.cluster import irsa_trust
from components.data import REGISTRY_HASH_KEY, REGISTRY_RANGE_KEY, DataTables
from components.eks_model import EksModel
from components.observability import MonitoredEndpoint
from components.registry_records import RegistryTable, record_served
from components.route_auth import RouteAuth
from components.serving.events_gateway import EventsTarget
from components.serving.fleet import build_multi_model_endpoints, team_plans
from components.serving.model_routes import TeamRoutes
from components.serving.multi_model_endpoint import VARIANT_NAME, MultiModelEndpoint
from components.serving.route_groups import route_groups
from components.team_deployer import boundary_arn
from infra.contract import CONTRACT_OUTPUT, ContractError, PlatformContract
from infra.declarations import EnvironmentSpec
from infra.declarations.errors import Problem, SpecError
from infra.layers import Layer, StackName, platform_stack, shard_of
from lifecycle.events import topic_name
from model_packages.packaging import package_model


class ContractCluster:
    """The cluster as a serving stack reaches it: a provider from the contract's kubeconfig and
    IRSA trust from its OIDC provider (what ``EksModel`` uses of ``EksCluster``)."""

    def __init__(
        self, name: str, contract: pulumi.Output[PlatformContract], kubeconfig: pulumi.Input[str]
    ) -> None:
        self._contract = contract
        # Every Kubernetes object goes through this provider, never the ambient kubeconfig.
        self.provider = k8s.Provider(name, kubeconfig=kubeconfig, enable_server_side_apply=True)

    def service_account_trust(self, namespace: str, service_account: str) -> pulumi.Output[str]:
        return self._contract.apply(
            lambda c: irsa_trust(
                c.cluster.oidc_provider_arn, c.cluster.oidc_issuer, namespace, service_account
            )
        )


@dataclass(frozen=True)
class StreamView:
    cluster_arn: pulumi.Input[str]
    topics: Mapping[str, str]
    bootstrap_brokers: pulumi.Input[str] = ""


@dataclass(frozen=True)
class PlatformView:
    """What a team's serving layer uses of its platform: the contract's values, as outputs."""

    kms_key_arn: pulumi.Input[str]
    artifacts_bucket: pulumi.Input[str]
    artifacts_bucket_arn: pulumi.Input[str]
    capture_bucket: pulumi.Input[str]
    registry: RegistryTable
    namespaces: Mapping[str, pulumi.Input[str]]
    cluster: object  # EksCluster or ContractCluster: .provider, .service_account_trust()
    # Where the teams' load balancers write access logs (components/alb_controller).
    access_logs_bucket: pulumi.Input[str] = ""
    # The token issuer the load balancers verify callers against (components/route_auth.py);
    # None where the routes have no HTTPS listener.
    route_auth: RouteAuth | None = None
    # The served records' parent: the tables, in the single stack; none in a serving stack.
    records_parent: pulumi.Resource | None = None
    # The team's permissions boundary, on every role of a serving stack (its deployer must set it).
    permissions_boundary: pulumi.Input[str] | None = None
    # What batch jobs need of the platform (components/batch.py); None: no team has jobs.
    batch: BatchPlatform | None = None
    # The Kafka cluster's ARN and each team's topic (components/streaming.py); None: no Kafka.
    streaming: StreamView | None = None

    @classmethod
    def from_contract(
        cls,
        contract: pulumi.Output[PlatformContract],
        cluster: ContractCluster,
        team: str,
        spec: EnvironmentSpec,
    ) -> PlatformView:
        def field(read):
            return contract.apply(read)

        return cls(
            kms_key_arn=contract.apply(lambda c: c.kms_key_arn),
            artifacts_bucket=contract.apply(lambda c: c.artifacts_bucket),
            artifacts_bucket_arn=contract.apply(lambda c: c.artifacts_bucket_arn),
            capture_bucket=contract.apply(lambda c: c.capture_bucket),
            registry=RegistryTable(
                name=contract.apply(lambda c: c.registry_table),
                hash_key=REGISTRY_HASH_KEY,
                range_key=REGISTRY_RANGE_KEY,
            ),
            namespaces={team: contract.apply(lambda c: c.namespaces[team])},
            cluster=cluster,
            permissions_boundary=contract.apply(
                lambda c: boundary_arn(c.account, c.environment, team)
            ),
            access_logs_bucket=contract.apply(lambda c: c.access_logs_bucket),
            route_auth=RouteAuth(
                issuer=contract.apply(lambda c: _route_auth(c).issuer),
                jwks_url=contract.apply(lambda c: _route_auth(c).jwks_url),
            )
            if spec.settings.routes.tls
            else None,
            batch=BatchPlatform(
                environment=spec.name.value,
                region=spec.settings.region,
                account=field(lambda c: c.account),
                cluster_name=field(lambda c: c.cluster.name),
                oidc_provider_arn=field(lambda c: c.cluster.oidc_provider_arn),
                oidc_issuer=field(lambda c: c.cluster.oidc_issuer),
                artifacts_bucket=field(lambda c: c.artifacts_bucket),
                capture_bucket=field(lambda c: c.capture_bucket),
                kms_key_arn=field(lambda c: c.kms_key_arn),
                alerts_topic_arn=field(lambda c: c.alerts_topic_arn),
                permissions_boundary=field(lambda c: boundary_arn(c.account, c.environment, team)),
            ),
            streaming=StreamView(
                cluster_arn=field(lambda c: c.streaming.cluster_arn if c.streaming else ""),
                topics={team: topic_name(spec.name.value, team)},
                bootstrap_brokers=field(_bootstrap_brokers),
            )
            if spec.settings.streaming.enabled
            else None,
        )


def _bootstrap_brokers(contract: PlatformContract) -> str:
    """The brokers the team's events gateways connect to; a platform deployed before they were
    in the contract has none, and its gateways could not start."""
    if contract.streaming is None or not contract.streaming.bootstrap_brokers:
        raise ContractError(
            f"{CONTRACT_OUTPUT}.streaming.bootstrapBrokers: the platform stack exports no Kafka "
            "brokers; deploy the platform stack from this commit before its serving stacks"
        )
    return contract.streaming.bootstrap_brokers


def _route_auth(contract: PlatformContract):
    if contract.route_auth is None:
        raise ContractError(
            f"stack {platform_stack(contract.environment)}: no routeAuth in its contract while "
            f"stacks/{contract.environment}.py's routes use HTTPS, whose load balancers verify "
            "tokens: deploy the platform stack first"
        )
    return contract.route_auth


def monitored(endpoints: list[MultiModelEndpoint]) -> list[MonitoredEndpoint]:
    """The endpoints as the dashboard and their alarms watch them."""
    return [
        MonitoredEndpoint(
            name=endpoint.plan.endpoint_name,
            variant=VARIANT_NAME,
            team=endpoint.plan.team,
            min_instances=endpoint.plan.min_instances,
            max_instances=endpoint.plan.max_instances,
        )
        for endpoint in endpoints
    ]


def holds_model(spec: EnvironmentSpec, team: str, stack: StackName) -> Callable[[str], bool]:
    """Whether ``stack`` holds a model of ``team`` (by name): its unit is its endpoint for a
    multi-model endpoint's model, the model itself otherwise (what ``build_team_serving`` builds
    per shard)."""
    shards = next(t.serving_shards for t in spec.teams if t.name == team)
    unit = {m.name: plan.endpoint_name for plan in team_plans(spec, team) for m in plan.models}
    return lambda model: stack.serves(team, unit.get(model, model), shards)


def build_team_serving(
    spec: EnvironmentSpec,
    team: str,
    platform: PlatformView,
    *,
    execution_role_arn: pulumi.Input[str],
    stack: StackName | None = None,
) -> list[MultiModelEndpoint]:
    """``team``'s models: SageMaker multi-model endpoints and EKS deployments; in a serving stack
    (``stack``), those of its shard. Returns the endpoints (for the dashboard and alarms, which the
    caller composes)."""
    stack = stack or StackName(spec.name.value, Layer.SINGLE)
    shards = next(t.serving_shards for t in spec.teams if t.name == team)

    def holds(unit: str) -> bool:
        return stack.serves(team, unit, shards)

    _refuse_batch_outside_shard_zero(spec, team, stack)

    # --- serving: SageMaker multi-model endpoints --------------------------------------------
    endpoints = build_multi_model_endpoints(
        spec,
        team,
        execution_role_arn=execution_role_arn,
        kms_key_arn=platform.kms_key_arn,
        artifacts_bucket=platform.artifacts_bucket,
        capture_bucket=platform.capture_bucket,
        registry=platform.registry,
        holds=holds,
    )
    served: list = [hosted for endpoint in endpoints for hosted in endpoint.hosted]

    # --- compute: the team's models served on EKS ----------------------------------------------
    # (their metrics sidecars' statsD mapping is the team namespace's, made with it: tenancy.py)
    on_eks: list[EksModel] = []
    for model in spec.models_served_by("eks"):
        if model.team != team or not holds(model.name):
            continue
        eks_model = EksModel(
            f"mlplat-{spec.name.value}-{model.name}",
            model=model,
            package=package_model(model.name, model.version, model.artifact),
            namespace=platform.namespaces[team],
            cluster=platform.cluster,
            artifacts_bucket=platform.artifacts_bucket,
            artifacts_bucket_arn=platform.artifacts_bucket_arn,
            kms_key_arn=platform.kms_key_arn,
            region=spec.settings.region,
            registry=platform.registry,
            environment=spec.name.value,
            permissions_boundary=platform.permissions_boundary,
            events=_events_target(spec, team, platform, model),
        )
        on_eks.append(eks_model)

    # --- batch: the team's Spark scoring jobs on EMR on EKS --------------------------------------
    with_jobs = [c.declaration for c in served + on_eks if c.declaration.batch]
    if with_jobs and platform.batch is not None:
        TeamBatch(
            f"mlplat-{spec.name.value}-{team}-batch",
            team=team,
            models=with_jobs,
            archives={c.declaration.name: c.artifact_key for c in served + on_eks},
            platform=platform.batch,
        )

    routes = {
        eks_model.declaration.name: eks_model.route for eks_model in on_eks
    } | _load_balanced_routes(spec, team, platform, on_eks, stack)

    # --- registry: the route callers resolve, one served record per model -----------------------
    for component in served + on_eks:
        record_served(
            component.declaration,
            routes.get(component.declaration.name, component.route),
            environment=spec.name.value,
            table=platform.registry,
            opts=_record_options(platform.records_parent, spec.name.value, component.declaration),
        )
    return endpoints


def _events_target(spec, team: str, platform: PlatformView, model) -> EventsTarget | None:
    """Where the model's events gateway publishes: only where the environment has Kafka and the
    model declares events (infra/declarations/events.py)."""
    if platform.streaming is None or model.events is None:
        return None
    return EventsTarget(
        cluster_arn=platform.streaming.cluster_arn,
        topic=platform.streaming.topics[team],
        bootstrap_brokers=platform.streaming.bootstrap_brokers,
        image=spec.settings.streaming.gateway_image,
        region=spec.settings.region,
    )


def _refuse_batch_outside_shard_zero(spec: EnvironmentSpec, team: str, stack: StackName) -> None:
    """Before anything is registered: the team's virtual cluster and log group are one per
    namespace, shard 0's, so a model with batch jobs served by another shard is refused."""
    if stack.shard == 0:
        return
    held = holds_model(spec, team, stack)
    refused = [m for m in spec.models if m.team == team and m.batch and held(m.name)]
    if refused:
        raise SpecError(
            [
                Problem(
                    f"models.{model.name}.batch",
                    f"team {team!r} is split into serving shards; batch jobs run only for the "
                    f"models of its first shard ({model.name} is in shard {stack.shard})",
                )
                for model in refused
            ],
            source=f"stacks/{spec.name.value}.py",
        )


def dns_owners(spec: EnvironmentSpec, team: str, assignment, shards: int) -> dict:
    """Route group -> the shard that makes its DNS name: the shard holding the group's first
    model by name (each shard routes its own models of a group through its own Ingress)."""
    members: dict = {}
    for model in spec.models_served_by("eks"):
        if model.team == team and model.name in assignment:
            members.setdefault(assignment[model.name], []).append(model.name)
    return {group: shard_of(min(names), shards) for group, names in members.items()}


def _load_balanced_routes(
    spec: EnvironmentSpec,
    team: str,
    platform: PlatformView,
    on_eks: list[EksModel],
    stack: StackName,
) -> dict[str, pulumi.Output]:
    """The team's EKS models behind its internal load balancers: model -> route with its URL."""
    if not on_eks:
        return {}
    assignment = route_groups(spec)
    shards = next(t.serving_shards for t in spec.teams if t.name == team)
    owners = dns_owners(spec, team, assignment, shards)
    shard = stack.shard if stack.layer is Layer.SERVING else 0
    groups: dict = {}
    for eks_model in on_eks:
        groups.setdefault(assignment[eks_model.declaration.name], []).append(eks_model.declaration)
    team_routes = TeamRoutes(
        f"mlplat-{spec.name.value}-{team}-routes",
        environment=spec.name.value,
        groups=groups,
        namespace=platform.namespaces[team],
        routes=spec.settings.routes,
        vpc_cidr=spec.settings.network.cidr,
        access_logs_bucket=platform.access_logs_bucket,
        production=spec.is_production,
        provider=platform.cluster.provider,
        route_auth=platform.route_auth,
        depends_on=[eks_model.service for eks_model in on_eks],
        shard=shard,
        # The single stack holds every shard's models: it makes every group's name.
        owns_dns=lambda group: stack.layer is not Layer.SERVING or owners[group] == shard,
    )
    return {m.declaration.name: team_routes.route_of(m.declaration, m.route) for m in on_eks}


def _record_options(parent, environment: str, model) -> pulumi.ResourceOptions:
    """Parented to the tables so the URN stays when a model moves between backends; a serving
    stack has no tables, so its records keep, as an alias, the URN the single stack gave them
    (moved into the serving stack by `pulumi state move`, they are then the same resources)."""
    if parent is not None:
        return pulumi.ResourceOptions(parent=parent)
    single = (
        f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{DataTables.TYPE}"
        f"$aws:dynamodb/tableItem:TableItem::mlplat-{environment}-{model.name}-served"
    )
    return pulumi.ResourceOptions(aliases=[single])
