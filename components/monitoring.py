"""Prometheus for the models served on EKS: an AMP workspace fed by AMP's managed scraper, the
exporters it scrapes, the rules generated from the declarations, and an alert manager that
routes each team's alerts to the team's topic.

- Workspace: encrypted with the platform key (``kms_key_arn``; AMP then uses grants created with
  the deployer's permissions), logging rule and alert manager events to a log group.
- Scraper (``aws.amp.Scraper``): agentless, one ENI per subnet given, here the cluster's private
  subnets with the cluster's security group; its configuration is
  ``lifecycle.monitoring.scrape_config``. The scraper reads the Kubernetes API as the user
  ``aps-collector-user``: an EKS access entry maps the scraper's role (AMP creates it, output
  ``role_arn``) to that user, and a ClusterRole/ClusterRoleBinding grant it what service
  discovery and the scrape need (AMP user guide, "Configuring your Amazon EKS cluster":
  ``aps-collector-role``).
- Exporters: pinned Helm releases (``ClusterSettings.addons``) in the ``monitoring`` namespace;
  DCGM exporter only on GPU nodes (node selector + the GPU taint's toleration).
- Rules: ``lifecycle.monitoring`` packs them into namespaces within AMP's quotas (a quota
  problem stops the program with the environment named; never a half-applied rule set). In the
  single stack they are all here; with layered stacks the platform keeps only the recording
  rules and each serving shard creates its own models' namespaces (``TeamRuleNamespaces``) in
  the workspace the contract names, so a model change touches its team's stack only.
- Usage tags (what ``mlplat cost`` prices AMP on): the series estimate travels with the rules
  that cover the models: on the workspace and scraper in the single stack, on each team
  namespace with layered stacks (the platform's then carry the scrape interval only).
- Alert manager: ``lifecycle.monitoring.alertmanager``, after the topic policies exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.cluster import GPU_TAINT, POOL_LABEL, EksCluster
from infra.declarations import ModelDeclaration, Problem, SpecError
from infra.declarations.environment import AddonSettings, MonitoringSettings
from infra.declarations.tags import TAG_ACTIVE_SERIES, TAG_SCRAPE_INTERVAL, TAG_TEAM
from lifecycle.monitoring import alertmanager, scrape_config
from lifecycle.monitoring.amp_namespaces import (
    RuleNamespace,
    pack,
    quota_problems,
    series_problems,
)
from lifecycle.monitoring.metrics import estimated_series
from lifecycle.monitoring.prometheus_rules import eks_models, rule_groups

COLLECTOR_USER = "aps-collector-user"
COLLECTOR_ROLE = "aps-collector-role"
# What the managed collector reads through the API server (AMP user guide, EKS setup).
COLLECTOR_RULES = [
    {
        "apiGroups": [""],
        "resources": [
            *("nodes", "nodes/proxy", "nodes/metrics", "services", "endpoints", "pods"),
            *("ingresses", "configmaps"),
        ],
        "verbs": ["describe", "get", "list", "watch"],
    },
    {
        "apiGroups": ["extensions", "networking.k8s.io"],
        "resources": ["ingresses/status", "ingresses"],
        "verbs": ["describe", "get", "list", "watch"],
    },
    {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
]
SCRAPER_ROLE_PATH = "aws-service-role/scraper.aps.amazonaws.com/"


def eks_principal_arn(scraper_role_arn: str) -> str:
    """The scraper's role as an EKS access entry names it: without the service-linked path
    (AMP user guide, "Configuring your Amazon EKS cluster": "Amazon EKS requires a different
    format for this ARN", ``role/AWSServiceRoleForAmazonPrometheusScraper_<id>``)."""
    return scraper_role_arn.replace(f":role/{SCRAPER_ROLE_PATH}", ":role/")


GPU_NODES = {"nvidia.com/gpu.present": "true"}  # the GPU pool's label (components.cluster)
ON_SYSTEM_NODES = {POOL_LABEL: "system"}


def rule_namespaces(
    environment: str, models: Sequence[ModelDeclaration], scrape_interval: int
) -> list[RuleNamespace]:
    """The environment's rule namespaces; a SpecError when AMP would refuse them, or throttle
    the models' series at their maximum replicas."""
    namespaces = pack(environment, rule_groups(models))
    peak = estimated_series(models, replicas="max")
    problems = quota_problems(namespaces) + series_problems(peak, scrape_interval)
    if problems:
        raise SpecError(
            [Problem("models", f"AMP quota: {problem}") for problem in problems],
            source=f"stacks/{environment}.py",
        )
    return namespaces


def shard_rule_namespaces(
    environment: str,
    team: str,
    shard: int,
    models: Sequence[ModelDeclaration],
    shard_models: Sequence[ModelDeclaration],
    scrape_interval: int,
) -> list[RuleNamespace]:
    """The alert namespaces of one serving shard (its ``shard_models`` of ``team``). The whole
    environment (``models``) is checked against the workspace's quotas first: every stack
    fails on a quota problem, whichever shard's models cause it."""
    rule_namespaces(environment, models, scrape_interval)
    groups = rule_groups(m for m in shard_models if m.team == team)
    groups.pop("", None)  # the recording rules are the platform's
    return pack(environment, groups, shard=shard)


def usage_tags(models: Sequence[ModelDeclaration] | None, scrape_interval: int) -> dict[str, str]:
    """What `mlplat cost` prices AMP on (cost_model/prometheus.py); ``models`` None: the series
    are declared elsewhere (each team namespace, layered)."""
    tags = {TAG_SCRAPE_INTERVAL: str(scrape_interval)}
    if models is not None:
        tags[TAG_ACTIVE_SERIES] = str(estimated_series(models))
    return tags


def exporter_values(addons: AddonSettings) -> dict[str, tuple[str, str, str, dict]]:
    """release -> (chart, version, repository, values)."""
    return {
        scrape_config.KUBE_STATE_METRICS: (
            "kube-state-metrics",
            addons.kube_state_metrics,
            "https://prometheus-community.github.io/helm-charts",
            # Its own labels (namespace, pod, deployment) must survive the scrape.
            {"nodeSelector": ON_SYSTEM_NODES, "fullnameOverride": scrape_config.KUBE_STATE_METRICS},
        ),
        scrape_config.NODE_EXPORTER: (
            "prometheus-node-exporter",
            addons.prometheus_node_exporter,
            "https://prometheus-community.github.io/helm-charts",
            # Every node, GPU and spot ones included: tolerate every taint.
            {
                "fullnameOverride": scrape_config.NODE_EXPORTER,
                "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}],
            },
        ),
        scrape_config.DCGM_EXPORTER: (
            "dcgm-exporter",
            addons.dcgm_exporter,
            "https://nvidia.github.io/dcgm-exporter/helm-charts",
            {
                "fullnameOverride": scrape_config.DCGM_EXPORTER,
                "nodeSelector": GPU_NODES,
                "tolerations": [GPU_TAINT.toleration()],
                # The chart's own ServiceMonitor needs the Prometheus operator's CRDs: off.
                "serviceMonitor": {"enabled": False},
            },
        ),
    }


class PrometheusMonitoring(PlatformComponent):
    """Attributes: ``workspace``, ``scraper``, ``namespaces`` (rule namespaces by name)."""

    TYPE = "mlplat:monitoring:PrometheusMonitoring"

    def __init__(
        self,
        name: str,
        *,
        environment: str,
        region: str,
        account: pulumi.Input[str],
        models: Sequence[ModelDeclaration],
        settings: MonitoringSettings,
        addons: AddonSettings,
        cluster: EksCluster,
        private_subnet_ids: pulumi.Input[Sequence[str]],
        kms_key_arn: pulumi.Input[str],
        team_topic_arns: Mapping[str, pulumi.Input[str]],
        platform_topic_arn: pulumi.Input[str],
        topic_policies: Sequence[pulumi.Resource] = (),
        team_rules: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``team_rules`` False (layered stacks): the teams' alert namespaces and series are
        their serving stacks' (``TeamRuleNamespaces``); only the recording rules are here."""
        super().__init__(name, opts=opts)
        self._provider = cluster.provider
        # Plain values: fail before any resource.
        namespaces = rule_namespaces(environment, models, settings.scrape_interval_seconds)
        if not team_rules:
            namespaces = pack(environment, {"": rule_groups(models)[""]})
        self._usage = usage_tags(models if team_rules else None, settings.scrape_interval_seconds)
        self.workspace = self._create_workspace(name, settings, kms_key_arn)
        self.scraper = self._create_scraper(
            name, settings, cluster, region, account, private_subnet_ids
        )
        self._create_exporters(name, addons)
        self.namespaces = {
            namespace.name: aws.amp.RuleGroupNamespace(
                f"{name}-{namespace.name}",
                name=namespace.name,
                workspace_id=self.workspace.id,
                data=namespace.data,
                opts=self.child_opts(),
            )
            for namespace in namespaces
        }
        self.alert_manager = aws.amp.AlertManagerDefinition(
            f"{name}-alert-manager",
            workspace_id=self.workspace.id,
            definition=pulumi.Output.all(platform_topic_arn, dict(team_topic_arns)).apply(
                lambda values: alertmanager.definition_text(values[1], values[0], region)
            ),
            opts=self.child_opts(depends_on=list(topic_policies)),
        )
        self.register_outputs(
            {
                "workspaceArn": self.workspace.arn,
                "prometheusEndpoint": self.workspace.prometheus_endpoint,
                "ruleNamespaces": sorted(self.namespaces),
            }
        )

    def _create_workspace(self, name, settings: MonitoringSettings, kms_key_arn):
        # AMP writes its vended logs to a group under /aws/vendedlogs/ (AMP user guide, logging).
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/vendedlogs/prometheus/{name}",
            retention_in_days=settings.log_retention_days,
            opts=self.child_opts(),
        )
        return aws.amp.Workspace(
            f"{name}-workspace",
            alias=name,
            kms_key_arn=kms_key_arn,
            logging_configuration={"log_group_arn": logs.arn.apply(lambda arn: f"{arn}:*")},
            tags=self._usage,
            opts=self.child_opts(),
        )

    def _create_scraper(self, name, settings, cluster: EksCluster, region, account, subnets):
        cluster_arn = pulumi.Output.all(cluster.name_output, account).apply(
            lambda values: f"arn:aws:eks:{region}:{values[1]}:cluster/{values[0]}"
        )
        scraper = aws.amp.Scraper(
            f"{name}-scraper",
            alias=name,
            scrape_configuration=scrape_config.scrape_config_text(settings.scrape_interval_seconds),
            source={
                "eks": {
                    "cluster_arn": cluster_arn,
                    "subnet_ids": subnets,
                    "security_group_ids": [cluster.security_group_id],
                }
            },
            destination={"amp": {"workspace_arn": self.workspace.arn}},
            tags=self._usage,
            opts=self.child_opts(),
        )
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-collector-role",
            metadata={"name": COLLECTOR_ROLE},
            rules=COLLECTOR_RULES,
            opts=self._opts(),
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-collector-binding",
            metadata={"name": f"{COLLECTOR_USER}-role-binding"},
            subjects=[
                {"kind": "User", "name": COLLECTOR_USER, "apiGroup": "rbac.authorization.k8s.io"}
            ],
            role_ref={
                "kind": "ClusterRole",
                "name": COLLECTOR_ROLE,
                "apiGroup": "rbac.authorization.k8s.io",
            },
            opts=self._opts(depends_on=[role]),
        )
        aws.eks.AccessEntry(
            f"{name}-collector-access",
            cluster_name=cluster.name_output,
            principal_arn=scraper.role_arn.apply(eks_principal_arn),
            user_name=COLLECTOR_USER,
            type="STANDARD",
            opts=self.child_opts(),
        )
        return scraper

    def _create_exporters(self, name: str, addons: AddonSettings) -> None:
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": scrape_config.MONITORING_NAMESPACE},
            opts=self._opts(),
        )
        for release, (chart, version, repo, values) in exporter_values(addons).items():
            k8s.helm.v3.Release(
                f"{name}-{release}",
                name=release,
                chart=chart,
                version=version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo),
                namespace=scrape_config.MONITORING_NAMESPACE,
                values=values,
                atomic=True,
                opts=self._opts(depends_on=[namespace]),
            )

    def _opts(self, **options) -> pulumi.ResourceOptions:
        return self.child_opts(provider=self._provider, **options)


class TeamRuleNamespaces(PlatformComponent):
    """One serving shard's alert namespaces, in the platform's workspace (layered stacks), tagged
    with its models' series estimate. Attribute: ``namespaces`` (by name)."""

    TYPE = "mlplat:monitoring:TeamRuleNamespaces"

    def __init__(
        self,
        name: str,
        *,
        environment: str,
        team: str,
        shard: int,
        models: Sequence[ModelDeclaration],
        shard_models: Sequence[ModelDeclaration],
        scrape_interval: int,
        workspace_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, opts=opts)
        namespaces = shard_rule_namespaces(
            environment, team, shard, models, shard_models, scrape_interval
        )
        owner = {TAG_TEAM: team}
        # The shard's series go on its first namespace only: counted once.
        usage = {**owner, **usage_tags(eks_models(shard_models), scrape_interval)}
        self.namespaces = {
            namespace.name: aws.amp.RuleGroupNamespace(
                f"{name}-{namespace.name}",
                name=namespace.name,
                workspace_id=workspace_id,
                data=namespace.data,
                tags=usage if index == 0 else owner,
                opts=self.child_opts(aliases=[_single_stack_urn(environment, namespace.name)]),
            )
            for index, namespace in enumerate(namespaces)
        }
        self.register_outputs({"ruleNamespaces": sorted(self.namespaces)})


def _single_stack_urn(environment: str, namespace: str) -> str:
    """The URN the single stack gives this namespace: moving an environment to layered stacks
    (`pulumi state move`) keeps it the same resource."""
    return (
        f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{PrometheusMonitoring.TYPE}"
        f"$aws:amp/ruleGroupNamespace:RuleGroupNamespace::mlplat-{environment}-prometheus-"
        f"{namespace}"
    )
