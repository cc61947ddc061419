"""Composes one team's serving layer: its endpoints, its models on EKS. The single stack builds it
for every team on its own platform; a team's serving stack builds it on the platform's contract."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.batch import BatchPlatform, TeamBatch
from components.cluster import irsa_trust
from components.data import REGISTRY_HASH_KEY, REGISTRY_RANGE_KEY, DataTables
from components.eks_model import EksModel
from components.iam_documents import render_output
from components.observability import MonitoredEndpoint
from components.registry_records import RegistryTable, record_served
from components.serving.fleet import build_multi_model_endpoints
from components.serving.multi_model_endpoint import VARIANT_NAME, MultiModelEndpoint
from components.streaming import producer_statements
from infra.contract import PlatformContract
from infra.declarations import EnvironmentSpec
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
    # The served records' parent: the tables, in the single stack; none in a serving stack.
    records_parent: pulumi.Resource | None = None
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
            ),
            streaming=StreamView(
                cluster_arn=field(lambda c: c.streaming.cluster_arn if c.streaming else ""),
                topics={team: topic_name(spec.name.value, team)},
            )
            if spec.settings.streaming.enabled
            else None,
        )


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


def build_team_serving(
    spec: EnvironmentSpec,
    team: str,
    platform: PlatformView,
    *,
    execution_role_arn: pulumi.Input[str],
) -> list[MultiModelEndpoint]:
    """``team``'s models: SageMaker multi-model endpoints and EKS deployments. Returns the endpoints
    (for the dashboard and alarms, which the caller composes)."""
    # --- serving: SageMaker multi-model endpoints --------------------------------------------
    endpoints = build_multi_model_endpoints(
        spec,
        team,
        execution_role_arn=execution_role_arn,
        kms_key_arn=platform.kms_key_arn,
        artifacts_bucket=platform.artifacts_bucket,
        capture_bucket=platform.capture_bucket,
        registry=platform.registry,
    )
    served: list = [hosted for endpoint in endpoints for hosted in endpoint.hosted]

    # --- compute: the team's models served on EKS ----------------------------------------------
    for model in spec.models_served_by("eks"):
        if model.team != team:
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
        )
        served.append(eks_model)
        if platform.streaming is not None:
            # The model's own role may publish to its team's topic, and to nothing else.
            topic = platform.streaming.topics[team]
            aws.iam.RolePolicy(
                f"mlplat-{spec.name.value}-{model.name}-events",
                role=eks_model.role.id,
                policy=render_output(
                    lambda cluster_arn, topic=topic: producer_statements(cluster_arn, topic),
                    platform.streaming.cluster_arn,
                ),
                opts=pulumi.ResourceOptions(parent=eks_model),
            )

    # --- batch: the team's Spark scoring jobs on EMR on EKS --------------------------------------
    with_jobs = [
        c.declaration for c in served if c.declaration.team == team and c.declaration.batch
    ]
    if with_jobs and platform.batch is not None:
        TeamBatch(
            f"mlplat-{spec.name.value}-{team}-batch",
            team=team,
            models=with_jobs,
            archives={c.declaration.name: c.artifact_key for c in served},
            platform=platform.batch,
        )

    # --- registry: the route callers resolve, one served record per model -----------------------
    for component in served:
        record_served(
            component.declaration,
            component.route,
            environment=spec.name.value,
            table=platform.registry,
            opts=_record_options(platform.records_parent, spec.name.value, component.declaration),
        )
    return endpoints


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
