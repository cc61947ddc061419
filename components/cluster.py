"""The EKS cluster (over pulumi-eks), its managed node groups, and the explicit Kubernetes provider.

Secure by default:
- authentication through access entries only (mode ``API``, no aws-auth ConfigMap), and the
  cluster creator gets no implicit admin: admins are the ``admin_principal_arns`` given, as
  explicit access entries a reviewer can read (pulumi-eks hard-codes the creator bootstrap to
  true, pulumi/pulumi-eks#2373, so a transform turns it off on the child ``aws:eks/cluster``).
  They are this component's own resources, not pulumi-eks's, so the Kubernetes provider can wait
  for them: it acts as the deploying principal, which ``access_plan`` makes one of the admins;
- the API endpoint is private in production; elsewhere it is also public, but only from
  ``public_access_cidrs`` (and private-only when none are configured);
- Kubernetes secrets are envelope-encrypted with a dedicated KMS key; all five control-plane log
  types go to CloudWatch; an IAM OIDC provider enables IRSA;
- nodes run in private subnets from one launch template that requires IMDSv2 with a hop limit of
  one (pods cannot reach the node's credentials; they use IRSA), on encrypted gp3 volumes.

Node pools: ``system`` (on-demand, add-ons), ``gpu`` (NVIDIA AMI, tainted, scales from zero) and
``spot`` (interruptible, tainted). The autoscaler owns each pool's desired size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.encryption import PlatformKey
from components.iam_documents import Principal, Statement, assume_role, render
from infra import catalog
from infra.declarations.environment import ClusterSettings, NodeGroupSettings

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)
POOL_LABEL = "mlplat.io/node-pool"
AUTOSCALER_GPU_LABEL = "k8s.amazonaws.com/accelerator"


@dataclass(frozen=True)
class Taint:
    """A node taint, spelt for the EKS API (``NO_SCHEDULE``) and for pods (``NoSchedule``)."""

    key: str
    value: str
    effect: str = "NO_SCHEDULE"

    def node_group_args(self) -> aws.eks.NodeGroupTaintArgs:
        return aws.eks.NodeGroupTaintArgs(key=self.key, value=self.value, effect=self.effect)

    @property
    def kubernetes_effect(self) -> str:
        return {
            "NO_SCHEDULE": "NoSchedule",
            "NO_EXECUTE": "NoExecute",
            "PREFER_NO_SCHEDULE": "PreferNoSchedule",
        }[self.effect]

    def toleration(self) -> dict[str, str]:
        return {
            "key": self.key,
            "operator": "Equal",
            "value": self.value,
            "effect": self.kubernetes_effect,
        }


GPU_TAINT = Taint("nvidia.com/gpu", "true")
SPOT_TAINT = Taint("mlplat.io/spot", "true")


@dataclass(frozen=True)
class NodePool:
    role: str
    settings: NodeGroupSettings
    capacity_type: str = "ON_DEMAND"
    ami_type: str = "AL2023_x86_64_STANDARD"
    taints: tuple[Taint, ...] = ()
    extra_labels: tuple[tuple[str, str], ...] = ()

    @property
    def labels(self) -> dict[str, str]:
        return {POOL_LABEL: self.role, **dict(self.extra_labels)}


def node_pools(settings: ClusterSettings) -> tuple[NodePool, ...]:
    return (
        NodePool("system", settings.system_nodes),
        NodePool(
            "gpu",
            settings.gpu_nodes,
            ami_type="AL2023_x86_64_NVIDIA",
            taints=(GPU_TAINT,),
            extra_labels=(
                # The label the NVIDIA device plugin's chart selects nodes by.
                ("nvidia.com/gpu.present", "true"),
                # The label cluster-autoscaler's AWS provider reads to know a node has GPUs
                # (cloudprovider/aws: GPULabel): without it, it treats GPU nodes whose device
                # plugin has not yet advertised nvidia.com/gpu as unready capacity.
                # One model per group (a declaration rule); unknown families get a plain "nvidia".
                (
                    AUTOSCALER_GPU_LABEL,
                    catalog.gpu_model(settings.gpu_nodes.instance_types[0]) or "nvidia",
                ),
                ("mlplat.io/accelerator", "nvidia"),
            ),
        ),
        NodePool(
            "spot",
            settings.spot_nodes,
            capacity_type="SPOT",
            taints=(SPOT_TAINT,),
            extra_labels=(("mlplat.io/capacity", "spot"),),
        ),
    )


def _no_creator_admin(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Turn off the cluster creator's implicit admin on pulumi-eks's child ``aws:eks/cluster``."""
    if args.type_ != "aws:eks/cluster:Cluster":
        return None
    key = "access_config" if "access_config" in args.props else "accessConfig"
    access = dict(args.props.get(key) or {})
    access["bootstrapClusterCreatorAdminPermissions"] = False
    return pulumi.ResourceTransformResult(props={**args.props, key: access}, opts=args.opts)


class EksCluster(PlatformComponent):
    TYPE = "mlplat:cluster:EksCluster"

    def __init__(
        self,
        name: str,
        *,
        settings: ClusterSettings,
        production: bool,
        vpc_id: pulumi.Input[str],
        private_subnet_ids: Sequence[pulumi.Input[str]],
        public_subnet_ids: Sequence[pulumi.Input[str]],
        admin_principal_arns: dict[str, pulumi.Input[str]],
        account: pulumi.Input[str],
        opts=None,
    ) -> None:
        """``admin_principal_arns``: access-entry key -> IAM role ARN granted cluster admin."""
        super().__init__(name, opts=opts)
        self.cluster_name = name
        self.secrets_key = PlatformKey(
            f"{name}-secrets",
            description=f"{name} Kubernetes secrets",
            protect=production,
            account=account,
            opts=self.child_opts(),
        )
        self.cluster = self._create_cluster(
            name,
            settings,
            production,
            vpc_id,
            private_subnet_ids,
            public_subnet_ids,
        )
        # The name, known once the cluster exists: consumers depend on the cluster through it.
        self.name_output: pulumi.Output[str] = self.cluster.kubeconfig_json.apply(lambda _: name)
        self.oidc_provider_arn: pulumi.Output[str] = self.cluster.oidc_provider_arn
        self.oidc_issuer: pulumi.Output[str] = self.cluster.oidc_issuer
        # Carried by the API server's private endpoint: who may reach the API from the VPC.
        self.security_group_id: pulumi.Output[str] = self.cluster.cluster_security_group_id
        admin_access = self._create_admin_access(name, admin_principal_arns)
        self.node_role, node_policies = self._create_node_role(name)
        self.launch_template = self._create_launch_template(name)
        self.node_groups = {
            pool.role: self._create_node_group(name, pool, private_subnet_ids, node_policies)
            for pool in node_pools(settings)
        }
        # Every Kubernetes object goes through this provider, never the ambient kubeconfig. It
        # authenticates as the deploying principal: only once that principal's admin access
        # exists can it create anything.
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.cluster.kubeconfig_json,
            enable_server_side_apply=True,
            opts=self.child_opts(depends_on=[*self.node_groups.values(), *admin_access]),
        )
        self.register_outputs(
            {
                "clusterName": self.name_output,
                "oidcProviderArn": self.oidc_provider_arn,
                "kubeconfig": pulumi.Output.secret(self.cluster.kubeconfig_json),
                "nodeGroups": {role: group.arn for role, group in self.node_groups.items()},
            }
        )

    def _create_cluster(
        self,
        name,
        settings,
        production,
        vpc_id,
        private_subnet_ids,
        public_subnet_ids,
    ) -> eks.Cluster:
        public = not production and bool(settings.public_access_cidrs)
        return eks.Cluster(
            f"{name}-eks",
            name=name,
            version=settings.kubernetes_version,
            vpc_id=vpc_id,
            private_subnet_ids=list(private_subnet_ids),
            public_subnet_ids=list(public_subnet_ids),  # for internet-facing load balancers only
            node_associate_public_ip_address=False,
            endpoint_private_access=True,
            endpoint_public_access=public,
            public_access_cidrs=list(settings.public_access_cidrs) if public else None,
            authentication_mode=eks.AuthenticationMode.API,
            encryption_config_key_arn=self.secrets_key.arn,
            enabled_cluster_log_types=list(LOG_TYPES),
            create_oidc_provider=True,
            skip_default_node_group=True,
            # The VPC CNI enforces NetworkPolicy only when asked: without it the teams'
            # default-deny policies would be accepted and ignored.
            vpc_cni_options=eks.VpcCniOptionsArgs(enable_network_policy=True),
            deletion_protection=production,
            opts=self.child_opts(transforms=[_no_creator_admin]),
        )

    def _create_admin_access(
        self, name: str, admin_principal_arns: dict[str, pulumi.Input[str]]
    ) -> list[aws.eks.AccessPolicyAssociation]:
        associations = []
        for key, arn in sorted(admin_principal_arns.items()):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{key}",
                cluster_name=self.name_output,
                principal_arn=arn,
                type="STANDARD",
                opts=self.child_opts(),
            )
            associations.append(
                aws.eks.AccessPolicyAssociation(
                    f"{name}-admin-{key}",
                    cluster_name=self.name_output,
                    principal_arn=entry.principal_arn,
                    policy_arn=CLUSTER_ADMIN_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=self.child_opts(),
                )
            )
        return associations

    def _create_node_role(
        self, name: str
    ) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
        role = aws.iam.Role(
            f"{name}-node",
            assume_role_policy=assume_role(Principal.service("ec2.amazonaws.com")),
            opts=self.child_opts(),
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy.rsplit('/', 1)[1]}",
                role=role.name,
                policy_arn=policy,
                opts=self.child_opts(),
            )
            for policy in NODE_POLICIES
        ]
        return role, attachments

    def _create_launch_template(self, name: str) -> aws.ec2.LaunchTemplate:
        return aws.ec2.LaunchTemplate(
            f"{name}-nodes",
            description="mlplat EKS nodes: IMDSv2 only, encrypted root volume",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=100,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            opts=self.child_opts(),
        )

    def _create_node_group(
        self, name: str, pool: NodePool, subnet_ids, node_policies
    ) -> aws.eks.NodeGroup:
        size = pool.settings
        return aws.eks.NodeGroup(
            f"{name}-{pool.role}",
            cluster_name=self.name_output,
            node_role_arn=self.node_role.arn,
            subnet_ids=list(subnet_ids),
            instance_types=list(size.instance_types),
            capacity_type=pool.capacity_type,
            ami_type=pool.ami_type,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=size.min_size, max_size=size.max_size, desired_size=size.desired_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels=pool.labels,
            taints=[taint.node_group_args() for taint in pool.taints],
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)
            ),
            # The cluster autoscaler owns the live size; the declared one is only a start.
            # Nodes join only with the node policies attached (created before the group, and
            # detached only after it is deleted, or its nodes lose the right to leave cleanly).
            opts=self.child_opts(
                ignore_changes=["scalingConfig.desiredSize"], depends_on=node_policies
            ),
        )

    def service_account_trust(self, namespace: str, service_account: str) -> pulumi.Output[str]:
        """IRSA: a trust policy that lets only ``system:serviceaccount:<ns>:<sa>`` assume a role."""
        return pulumi.Output.all(self.oidc_provider_arn, self.oidc_issuer).apply(
            lambda values: irsa_trust(values[0], values[1], namespace, service_account)
        )


def irsa_statement(
    provider_arn: str,
    issuer: str,
    namespace: str,
    service_account: str,
    sid: str = "ServiceAccount",
) -> Statement:
    """Trust for pods running as ``namespace``/``service_account`` (IRSA)."""
    return Statement(
        sid,
        ("sts:AssumeRoleWithWebIdentity",),
        principal=Principal.federated(provider_arn),
        conditions={
            "StringEquals": {
                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{issuer}:aud": "sts.amazonaws.com",
            }
        },
    )


def irsa_trust(provider_arn: str, issuer: str, namespace: str, service_account: str) -> str:
    return render([irsa_statement(provider_arn, issuer, namespace, service_account)])
