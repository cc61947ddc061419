"""Team tenancy on the shared cluster, and how IAM roles reach Kubernetes.

``TeamTenancy``: per team, a namespace named after the team (Pod Security ``restricted``), a
ResourceQuota from the team's declared quota, a LimitRange with defaults for containers that
declare nothing, a default-deny NetworkPolicy plus the allowances workloads need (DNS, traffic
inside the namespace, HTTPS egress to AWS APIs), and RBAC: the team's deployer group may edit its
namespace, its viewer group may read it. Nothing is bound cluster-wide.

``ClusterAccess``: IAM roles become Kubernetes groups through EKS access entries (one entry per
principal, listing all its groups); read-only cluster-wide roles get AWS's view access policy.
Cluster admins are granted by the cluster itself (``EksCluster.admin_principal_arns``).

The deploying principal: the Kubernetes provider authenticates as whoever runs ``pulumi up``
(pulumi-eks's kubeconfig runs ``aws eks get-token`` with the caller's credentials), and the
cluster creator gets no implicit admin. So ``access_plan`` makes the IAM principal behind the
caller a cluster admin too, unless it already is one: in CI that is the CI deployer role (nothing
is added); an administrator's first ``up`` adds an entry for the administrator's role, which the
next CI deploy removes again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.eks_model import PORT as SERVER_PORT
from components.serving import events_gateway
from components.streaming import IAM_TLS_PORT
from infra.declarations import Team
from infra.declarations.model import RESERVED_NAMESPACES
from infra.declarations.tags import Ownership
from lifecycle.events import gateway as gateway_sidecar
from lifecycle.monitoring import statsd_mapping

VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
DNS_SELECTOR = {"k8s-app": "kube-dns"}


def deployer_group(team: str) -> str:
    return f"mlplat:{team}:deployers"


def viewer_group(team: str) -> str:
    return f"mlplat:{team}:viewers"


def quota_hard(team: Team) -> dict[str, str]:
    quota = team.quota
    return {
        "requests.cpu": str(quota.cpu),
        "requests.memory": f"{quota.memory_gib}Gi",
        "requests.nvidia.com/gpu": str(quota.gpus),
        "pods": str(quota.pods),
    }


def namespace_network_policies() -> dict[str, dict]:
    """Default-deny plus what workloads need: DNS, traffic inside the namespace, HTTPS egress to
    AWS APIs (and the Kubernetes API). Every namespace the platform creates gets these."""
    return {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                            },
                            "podSelector": {"matchLabels": DNS_SELECTOR},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]}],
        },
        # S3 (gateway endpoint: public S3 ranges), STS and ECR: HTTPS, wherever the API lives.
        "allow-https-egress": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"ports": [{"protocol": "TCP", "port": 443}]}],
        },
    }


# The events gateways (components/serving/events_gateway.py) publish to MSK's SASL/IAM listener;
# the brokers' security group admits the VPC on that port only (components/streaming.py).
KAFKA_EGRESS = {
    "allow-kafka-egress": {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"ports": [{"protocol": "TCP", "port": IAM_TLS_PORT}]}],
    }
}


def serving_ingress(vpc_cidr: str) -> dict[str, dict]:
    """What reaches a team's model pods from outside its namespace, which default-deny would
    otherwise drop: the routes' internal load balancers (target type ``ip``: requests and health
    checks from the ALB's addresses in the VPC, to the pod's serving port) and AMP's managed
    scraper (its interfaces in the private subnets, to the metrics ports). The serving port is
    the model server's, or on a pod with the events gateway (its label) the gateway's only: the
    server's port stays closed there, so nothing in the VPC can skip the events (the policy
    controller selects pods with Kubernetes' own label selectors, matchExpressions included:
    pkg/resolvers/endpoints.go, LabelSelectorAsSelector). Numeric ports:
    the VPC CNI's policy controller resolved named ports in ipBlock rules wrongly
    (aws/amazon-network-policy-controller-k8s#81). The kubelet's probes need no rule: the policy
    agent always admits the node's own address."""

    def from_vpc(selector: dict, ports: tuple[int, ...]) -> dict:
        return {
            "podSelector": selector,
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"ipBlock": {"cidr": vpc_cidr}}],
                    "ports": [{"protocol": "TCP", "port": port} for port in ports],
                }
            ],
        }

    gateway = {"key": events_gateway.POD_LABEL, "operator": "Exists"}
    gateway_ports = (gateway_sidecar.LISTEN_PORT, gateway_sidecar.METRICS_PORT)
    # Pods without the label also admit the gateway's ports (nothing listens there unless a
    # gateway does): a running gateway pod from before the label keeps its load balancer while
    # the platform's policies change ahead of its team's serving stack. And the gateway's policy
    # stays where Kafka is off, for labelled pods until their stack rolls them without it.
    return {
        "allow-vpc-to-serving": from_vpc(
            {"matchExpressions": [{**gateway, "operator": "DoesNotExist"}]},
            (SERVER_PORT, statsd_mapping.METRICS_PORT, *gateway_ports),
        ),
        "allow-vpc-to-events-gateway": from_vpc(
            {"matchExpressions": [gateway]}, (statsd_mapping.METRICS_PORT, *gateway_ports)
        ),
    }


class TeamTenancy(PlatformComponent):
    TYPE = "mlplat:tenancy:TeamTenancy"

    def __init__(
        self,
        name: str,
        *,
        team: Team,
        provider: k8s.Provider,
        vpc_cidr: str,
        kafka: bool = False,
        opts=None,
    ) -> None:
        """``vpc_cidr``: where the load balancers and the scraper reach model pods from
        (``serving_ingress``); ``kafka``: the environment has Kafka, and the team's events
        gateways may reach the brokers (``KAFKA_EGRESS``)."""
        if team.name in RESERVED_NAMESPACES or team.name.startswith("kube-"):
            raise ValueError(f"team {team.name!r} would take over a reserved namespace")
        super().__init__(name, owner=Ownership(team=team.name), opts=opts)
        self._provider = provider
        self.namespace_name = team.name
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=team.name,
                labels={
                    "mlplat.io/team": team.name,
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            ),
            opts=self._opts(),
        )
        # Children that live in the namespace depend on it through this output.
        self.namespace_output: pulumi.Output[str] = self.namespace.metadata.apply(
            lambda meta: meta["name"]
        )
        self._create_limits(name, team)
        self._create_network_policies(name, vpc_cidr, kafka)
        self._create_rbac(name, team.name)
        # The statsD mapping every EKS model's metrics sidecar mounts: one per namespace, here
        # rather than in a serving stack, so a team split into serving shards still has one.
        k8s.core.v1.ConfigMap(
            f"{name}-statsd-mapping",
            metadata=self._meta(statsd_mapping.MAPPING_CONFIGMAP),
            data={statsd_mapping.MAPPING_FILE: statsd_mapping.mapping_text()},
            opts=self._opts(),
        )
        self.register_outputs({"namespace": self.namespace_output})

    def _opts(self) -> pulumi.ResourceOptions:
        return self.child_opts(provider=self._provider)

    def _meta(self, name: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=self.namespace_output)

    def _create_limits(self, name: str, team: Team) -> None:
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=self._meta("team-quota"),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=quota_hard(team)),
            opts=self._opts(),
        )
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=self._meta("container-defaults"),
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[
                    k8s.core.v1.LimitRangeItemArgs(
                        type="Container",
                        default_request={"cpu": "250m", "memory": "256Mi"},
                        default={"cpu": "1", "memory": "1Gi"},
                    )
                ]
            ),
            opts=self._opts(),
        )

    def _create_network_policies(self, name: str, vpc_cidr: str, kafka: bool) -> None:
        policies = (
            namespace_network_policies()
            | serving_ingress(vpc_cidr)
            | (KAFKA_EGRESS if kafka else {})
        )
        for policy_name, spec in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}",
                metadata=self._meta(policy_name),
                spec=spec,
                opts=self._opts(),
            )

    def _create_rbac(self, name: str, team: str) -> None:
        for role, cluster_role, group in (
            ("deployers", "edit", deployer_group(team)),
            ("viewers", "view", viewer_group(team)),
        ):
            k8s.rbac.v1.RoleBinding(
                f"{name}-{role}",
                metadata=self._meta(f"{team}-{role}"),
                role_ref=k8s.rbac.v1.RoleRefArgs(
                    api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=cluster_role
                ),
                subjects=[
                    k8s.rbac.v1.SubjectArgs(
                        api_group="rbac.authorization.k8s.io", kind="Group", name=group
                    )
                ],
                opts=self._opts(),
            )


@dataclass(frozen=True)
class AccessGrant:
    """An IAM principal's way into the cluster: Kubernetes groups, and/or cluster-wide view."""

    key: str
    principal_arn: pulumi.Input[str]
    groups: tuple[str, ...] = ()
    cluster_view: bool = False


class ClusterAccess(PlatformComponent):
    TYPE = "mlplat:tenancy:ClusterAccess"

    def __init__(
        self,
        name: str,
        *,
        cluster_name: pulumi.Input[str],
        grants: Sequence[AccessGrant],
        opts=None,
    ) -> None:
        super().__init__(name, opts=opts)
        keys = [grant.key for grant in grants]
        if len(set(keys)) != len(keys):
            raise ValueError(f"access grants must have distinct keys: {keys}")
        for grant in grants:
            entry = aws.eks.AccessEntry(
                f"{name}-{grant.key}",
                cluster_name=cluster_name,
                principal_arn=grant.principal_arn,
                kubernetes_groups=sorted(grant.groups),
                type="STANDARD",
                opts=self.child_opts(),
            )
            if grant.cluster_view:
                aws.eks.AccessPolicyAssociation(
                    f"{name}-{grant.key}-view",
                    cluster_name=cluster_name,
                    principal_arn=entry.principal_arn,
                    policy_arn=VIEW_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=self.child_opts(),
                )
        self.register_outputs({})


@dataclass(frozen=True)
class PersonaArns:
    """The persona roles (components/identity.py) that the cluster maps to Kubernetes."""

    ci_deployer: pulumi.Input[str] | None = None
    platform_admin: pulumi.Input[str] | None = None
    auditor: pulumi.Input[str] | None = None
    ml_engineer: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    data_scientist: dict[str, pulumi.Input[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class DeployingPrincipal:
    """The IAM user or role running this deployment, and which persona role it is, if any."""

    arn: str
    persona: str | None = None


def deploying_principal(issuer_arn: str, environment: str) -> DeployingPrincipal:
    """From the caller's IAM identity (an STS session resolved to its role, with its path).

    Persona roles are named ``mlplat-<env>-<key>`` (components/identity.py), ``<key>`` being the
    key of their access grant below.
    """
    if ":assumed-role/" in issuer_arn or ":federated-user/" in issuer_arn:
        # EKS accepts IAM users and roles only, never an STS session principal.
        raise ValueError(f"{issuer_arn} is an STS session: pass its IAM role's ARN")
    name = issuer_arn.rsplit("/", 1)[-1] if ":role/" in issuer_arn else ""
    prefix = f"mlplat-{environment}-"
    return DeployingPrincipal(
        issuer_arn, name.removeprefix(prefix) if name.startswith(prefix) else None
    )


def access_plan(
    personas: PersonaArns, *, production: bool, deployer: DeployingPrincipal | None = None
) -> tuple[dict[str, pulumi.Input[str]], list[AccessGrant]]:
    """Cluster admins, and every other persona's grant.

    The CI deployer is admin everywhere (it runs ``pulumi up``). Humans are read-only in prod, as
    on AWS: there the platform admin only views the cluster and ML engineers only view their
    team's namespace; elsewhere the platform admin is admin and ML engineers deploy to their
    team's namespace. Data scientists view their team's namespace; auditors view the cluster.
    ``deployer`` (the principal running ``pulumi up``) is admin too: the Kubernetes provider acts
    as it. EKS allows one access entry per principal, so a deployer that is already an admin
    persona gets no second one, and one with a lesser grant is refused.
    """
    admins: dict[str, pulumi.Input[str]] = {}
    grants: list[AccessGrant] = []
    if personas.ci_deployer is not None:
        admins["ci-deployer"] = personas.ci_deployer
    if personas.platform_admin is not None:
        if production:
            grants.append(AccessGrant("platform-admin", personas.platform_admin, cluster_view=True))
        else:
            admins["platform-admin"] = personas.platform_admin
    if personas.auditor is not None:
        grants.append(AccessGrant("auditor", personas.auditor, cluster_view=True))
    for team, arn in sorted(personas.ml_engineer.items()):
        group = viewer_group(team) if production else deployer_group(team)
        grants.append(AccessGrant(f"{team}-ml-engineer", arn, groups=(group,)))
    for team, arn in sorted(personas.data_scientist.items()):
        grants.append(AccessGrant(f"{team}-data-scientist", arn, groups=(viewer_group(team),)))
    if deployer is not None and deployer.persona not in admins:
        if deployer.persona in {grant.key for grant in grants}:
            raise ValueError(
                f"{deployer.arn} runs this deployment, but its persona ({deployer.persona}) may "
                "not administer this cluster: deploy as the CI deployer or an administrator"
            )
        admins["deployer"] = deployer.arn
    return admins, grants
