"""Cluster add-ons, as pinned Helm releases through the cluster's explicit Kubernetes provider.

- NVIDIA device plugin: advertises ``nvidia.com/gpu`` on GPU nodes (tolerates their taint);
- cluster-autoscaler: owns node group sizes, with its own IRSA role that may only resize groups
  tagged as this cluster's, and the image minor matching the cluster's Kubernetes version;
- metrics-server: the resource metrics HorizontalPodAutoscalers scale on;
- Container Insights (the EKS add-on amazon-cloudwatch-observability), when the cluster settings
  turn it on: the ContainerInsights metrics the dashboard shows, through its own IRSA role.

Helm ``Release`` (not ``Chart``): the release is one resource Helm installs in the cluster, so
nothing is rendered or fetched at preview time.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.cluster import GPU_TAINT, POOL_LABEL, EksCluster
from components.iam_documents import Statement, render_output
from infra.declarations.environment import ClusterSettings

SYSTEM_NAMESPACE = "kube-system"
AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
CLOUDWATCH_NAMESPACE = "amazon-cloudwatch"
CLOUDWATCH_SERVICE_ACCOUNT = "cloudwatch-agent"
# AWS's policy for the CloudWatch agent: put metrics and logs, read its own settings; no admin.
CLOUDWATCH_AGENT_POLICY = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
XRAY_WRITE_POLICY = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
ON_SYSTEM_NODES = {POOL_LABEL: "system"}


def autoscaler_statements(cluster_name: str, region: str, account: str) -> list[Statement]:
    """Least privilege for cluster-autoscaler, as its AWS documentation lays out."""
    return [
        Statement(
            "ResizeThisClustersGroups",
            ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"),
            # Group ARNs carry a random id; the ownership tag EKS puts on them scopes the grant.
            ("*",),
            conditions={
                "StringEquals": {
                    f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"
                }
            },
        ),
        Statement(
            "DescribeCapacity",
            (
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
            ),
            ("*",),  # Describe calls support no resource-level permissions
        ),
        Statement(
            "ReadNodeGroupTemplates",  # labels and taints of empty groups, to scale from zero
            ("eks:DescribeNodegroup",),
            (f"arn:aws:eks:{region}:{account}:nodegroup/{cluster_name}/*/*",),
        ),
    ]


class ClusterAddons(PlatformComponent):
    TYPE = "mlplat:cluster:ClusterAddons"

    def __init__(
        self,
        name: str,
        *,
        cluster: EksCluster,
        settings: ClusterSettings,
        region: str,
        account: pulumi.Input[str],
        opts=None,
    ) -> None:
        super().__init__(name, opts=opts)
        self._provider = cluster.provider
        versions = settings.addons
        self.device_plugin = self._release(
            f"{name}-nvidia-device-plugin",
            chart="nvidia-device-plugin",
            version=versions.nvidia_device_plugin,
            repo="https://nvidia.github.io/k8s-device-plugin",
            values={
                "tolerations": [
                    {"key": GPU_TAINT.key, "operator": "Exists", "effect": "NoSchedule"}
                ]
            },
        )
        self.metrics_server = self._release(
            f"{name}-metrics-server",
            chart="metrics-server",
            version=versions.metrics_server,
            repo="https://kubernetes-sigs.github.io/metrics-server/",
            values={"nodeSelector": ON_SYSTEM_NODES},
        )
        self.autoscaler_role = self._create_autoscaler_role(name, cluster, region, account)
        self.autoscaler = self._release(
            f"{name}-cluster-autoscaler",
            chart="cluster-autoscaler",
            version=versions.cluster_autoscaler,
            repo="https://kubernetes.github.io/autoscaler",
            values={
                "autoDiscovery": {"clusterName": cluster.cluster_name},
                "awsRegion": region,
                # The autoscaler's minor version must match the cluster's.
                "image": {"tag": f"v{settings.kubernetes_version}.0"},
                "rbac": {
                    "serviceAccount": {
                        "name": AUTOSCALER_SERVICE_ACCOUNT,
                        "annotations": {"eks.amazonaws.com/role-arn": self.autoscaler_role.arn},
                    }
                },
                "extraArgs": {"balance-similar-node-groups": True, "expander": "least-waste"},
                "nodeSelector": ON_SYSTEM_NODES,
            },
        )
        self.container_insights = (
            self._create_container_insights(name, cluster) if settings.container_insights else None
        )
        self.register_outputs({"autoscalerRoleArn": self.autoscaler_role.arn})

    def _release(
        self, name: str, *, chart: str, version: str, repo: str, values: dict
    ) -> k8s.helm.v3.Release:
        return k8s.helm.v3.Release(
            name,
            chart=chart,
            version=version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo),
            namespace=SYSTEM_NAMESPACE,
            values=values,
            atomic=True,
            opts=self.child_opts(provider=self._provider),
        )

    def _create_autoscaler_role(self, name, cluster: EksCluster, region, account) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-autoscaler",
            assume_role_policy=cluster.service_account_trust(
                SYSTEM_NAMESPACE, AUTOSCALER_SERVICE_ACCOUNT
            ),
            opts=self.child_opts(),
        )
        aws.iam.RolePolicy(
            f"{name}-autoscaler",
            role=role.id,
            policy=render_output(
                lambda account_id: autoscaler_statements(cluster.cluster_name, region, account_id),
                account,
            ),
            opts=self.child_opts(),
        )
        return role

    def _create_container_insights(self, name, cluster: EksCluster) -> aws.eks.Addon:
        role = aws.iam.Role(
            f"{name}-cloudwatch-agent",
            assume_role_policy=cluster.service_account_trust(
                CLOUDWATCH_NAMESPACE, CLOUDWATCH_SERVICE_ACCOUNT
            ),
            opts=self.child_opts(),
        )
        # The add-on's agent needs both (its documentation): metrics and logs, and the traces of
        # Application Signals, which it turns on by default.
        for suffix, policy_arn in (("", CLOUDWATCH_AGENT_POLICY), ("-xray", XRAY_WRITE_POLICY)):
            aws.iam.RolePolicyAttachment(
                f"{name}-cloudwatch-agent{suffix}",
                role=role.name,
                policy_arn=policy_arn,
                opts=self.child_opts(),
            )
        return aws.eks.Addon(
            f"{name}-container-insights",
            cluster_name=cluster.name_output,
            addon_name="amazon-cloudwatch-observability",
            service_account_role_arn=role.arn,
            opts=self.child_opts(),
        )
