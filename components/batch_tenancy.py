"""Where a team's Spark jobs run on the cluster, and how EMR on EKS reaches it (platform layer).

Per team that declares a batch quota (its models' jobs need one): a namespace ``<team>-batch``,
apart from the team's serving namespace because that one enforces Pod Security ``restricted``
and EMR on EKS's own pods (the job submitter, Spark's driver and executors as EMR builds them)
set no seccomp profile or dropped capabilities: ``baseline`` is enforced here, ``restricted``
only warned. A ResourceQuota as the team declares it (its jobs, running at once, fit it:
validated), and the RBAC EMR on EKS needs in the namespace (and the platform's default-deny
network policies with their allowances): the Role and RoleBinding of "Enable cluster access
for Amazon EMR on EKS", manual steps (EMR on EKS Development Guide,
setting-up-cluster-access.html), bound to the Kubernetes user ``emr-containers``.

Once per cluster (when any team has a batch quota): an EKS access entry that maps EMR on EKS's
service-linked role (``AWSServiceRoleForAmazonEMRContainers``) to that user. The cluster
authenticates through access entries only (mode ``API``, components/cluster.py), so the
aws-auth mapping the guide's eksctl command writes would be ignored; EMR's automatic access-entry
integration asks for ``API_AND_CONFIG_MAP``, which the platform does not turn on. The
service-linked role must exist before the entry (EKS checks the principal): it is created once
per account (README, "Before the first `pulumi up`").
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.tenancy import namespace_network_policies
from infra.declarations.environment import BatchQuota
from infra.declarations.model import BATCH_NAMESPACE

EMR_USER = "emr-containers"  # fixed by EMR on EKS: the name its service-linked role acts as
EMR_SERVICE_LINKED_ROLE = "AWSServiceRoleForAmazonEMRContainers"


def batch_namespace(team: str) -> str:
    return BATCH_NAMESPACE.format(team)


def emr_role_arn(account: str) -> str:
    # Service-linked roles live under their service's path.
    return (
        f"arn:aws:iam::{account}:role/aws-service-role/emr-containers.amazonaws.com/"
        f"{EMR_SERVICE_LINKED_ROLE}"
    )


# The namespace Role of the guide's manual steps (EKS 1.22+), verbs as listed there.
_ALL = [
    "get",
    "list",
    "watch",
    "describe",
    "create",
    "edit",
    "delete",
    "annotate",
    "patch",
    "label",
]
EMR_ROLE_RULES = [
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
    {
        "apiGroups": [""],
        "resources": ["serviceaccounts", "services", "configmaps", "events", "pods", "pods/log"],
        "verbs": [*_ALL, "deletecollection"],
    },
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "patch", "delete", "watch"]},
    {"apiGroups": ["apps"], "resources": ["statefulsets", "deployments"], "verbs": _ALL},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": _ALL},
    {"apiGroups": ["extensions", "networking.k8s.io"], "resources": ["ingresses"], "verbs": _ALL},
    {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "resources": ["roles", "rolebindings"],
        "verbs": [*_ALL, "deletecollection"],
    },
    {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": _ALL},
]
def quota_spec(quota: BatchQuota) -> dict[str, str]:
    """The team's declared batch quota as the namespace's ResourceQuota (its jobs, all at once,
    fit it: infra/declarations/batch_capacity.py)."""
    return {
        "requests.cpu": str(quota.cpu),
        "requests.memory": f"{quota.memory_gib}Gi",
        "pods": str(quota.pods),
    }


class BatchTenancy(PlatformComponent):
    """``teams``: team -> its declared batch quota (teams without one have no Spark namespace;
    validation refuses batch jobs of such a team)."""

    TYPE = "mlplat:batch:BatchTenancy"

    def __init__(
        self,
        name: str,
        *,
        teams: dict[str, BatchQuota],
        cluster_name: pulumi.Input[str],
        account: str,
        provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, opts=opts)
        self._provider = provider
        self.access = aws.eks.AccessEntry(
            f"{name}-emr-access",
            cluster_name=cluster_name,
            principal_arn=emr_role_arn(account),
            user_name=EMR_USER,
            type="STANDARD",
            opts=self.child_opts(),
        )
        self.namespaces = {
            team: self._team(f"{name}-{team}", team, quota)
            for team, quota in sorted(teams.items())
        }
        self.register_outputs({"namespaces": self.namespaces})

    def _team(self, name: str, team: str, quota: BatchQuota) -> pulumi.Output[str]:
        k8s_opts = self.child_opts(provider=self._provider)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": batch_namespace(team),
                "labels": {
                    "mlplat.io/team": team,
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            },
            opts=k8s_opts,
        )
        name_output = namespace.metadata.apply(lambda meta: meta["name"])
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata={"name": "batch-quota", "namespace": name_output},
            spec={"hard": quota_spec(quota)},
            opts=k8s_opts,
        )
        # The platform's networking for every namespace; Spark's driver and executors talk
        # inside the namespace, EMR's pods reach the Kubernetes API, S3 and CloudWatch on 443.
        for policy, spec in namespace_network_policies().items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy}",
                metadata={"name": policy, "namespace": name_output},
                spec=spec,
                opts=k8s_opts,
            )
        role = k8s.rbac.v1.Role(
            f"{name}-emr-role",
            metadata={"name": EMR_USER, "namespace": name_output},
            rules=EMR_ROLE_RULES,
            opts=k8s_opts,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-emr-binding",
            metadata={"name": EMR_USER, "namespace": name_output},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": EMR_USER},
            subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": EMR_USER}],
            opts=self.child_opts(provider=self._provider, depends_on=[role]),
        )
        return name_output
