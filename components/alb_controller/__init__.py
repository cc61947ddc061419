"""The AWS Load Balancer Controller (platform layer): it turns the teams' Ingress objects into
internal Application Load Balancers.

- a pinned Helm release (chart and controller v3.5.0) on the system nodes, through the cluster's
  explicit provider; its IngressClass ``alb`` pins the scheme to ``internal`` with
  IngressClassParams, so no Ingress of the class can ask for an internet-facing load balancer;
- an IRSA role (the cluster uses IRSA for every add-on) with the controller's documented policy,
  ``iam_policy.json`` here, copied byte for byte from the pinned release (``iam_policy.source.json``
  records where from and its digest); a policy of another release may lack an action that
  release's controller calls, so the chart and the file change together;
- the access-log bucket every load balancer writes to. ALB access logs support SSE-S3 only
  (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html,
  "Bucket requirements"), so this bucket uses SSE-S3; its policy lets ELB's log delivery write
  under ``AWSLogs/<account>/``: the Region's ELB account for Regions available before August
  2022, the ``logdelivery.elasticloadbalancing.amazonaws.com`` principal for later ones (same
  page, "Attach a policy to your S3 bucket").
"""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.buckets import Expiry, SecureBucket
from components.cluster import EksCluster
from components.iam_documents import Principal, Statement
from infra.declarations.routes import RouteSettings

HERE = Path(__file__).parent
CONTROLLER_VERSION = "v3.5.0"
CHART_VERSION = "3.5.0"
CHART_REPOSITORY = "https://aws.github.io/eks-charts"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
INGRESS_CLASS = "alb"
LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"

# ELB's account per Region available before August 2022 (the page above; AWS CDK keeps the same
# table in aws-elasticloadbalancingv2). Regions launched later use the service principal only.
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-south-1": "718504428378",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}


def controller_policy() -> dict:
    """The controller's documented IAM policy of the pinned release, as published."""
    return json.loads((HERE / "iam_policy.json").read_text())


def controller_policy_text() -> str:
    # Compact: IAM counts characters without whitespace against its size quotas.
    return json.dumps(controller_policy(), separators=(",", ":"))


def log_delivery_statements(bucket_arn: str, region: str, account: str) -> list[Statement]:
    """Who may write ALB access logs into the bucket: only under this account's log prefix."""
    objects = f"{bucket_arn}/*/AWSLogs/{account}/*"
    statements = [
        Statement(
            "AlbLogDelivery",
            ("s3:PutObject",),
            (objects,),
            principal=Principal.service(LOG_DELIVERY_SERVICE),
        )
    ]
    if region in ELB_LOG_ACCOUNTS:
        statements.append(
            Statement(
                "AlbLogDeliveryRegionAccount",
                ("s3:PutObject",),
                (objects,),
                principal=Principal.account(ELB_LOG_ACCOUNTS[region]),
            )
        )
    return statements


class AlbController(PlatformComponent):
    TYPE = "mlplat:alb_controller:AlbController"

    def __init__(
        self,
        name: str,
        *,
        cluster: EksCluster,
        vpc_id: pulumi.Input[str],
        routes: RouteSettings,
        region: str,
        account: str,
        protect: bool,
        node_selector: dict[str, str],
        opts=None,
    ) -> None:
        super().__init__(name, opts=opts)
        self.logs = SecureBucket(
            f"{name}-access-logs",
            kms_key_arn=None,
            protect=protect,
            expiries=(Expiry("", routes.access_log_days),),
            writers=lambda arn: log_delivery_statements(arn, region, account),
            opts=self.child_opts(),
        )
        self.role = aws.iam.Role(
            f"{name}-irsa",
            assume_role_policy=cluster.service_account_trust(NAMESPACE, SERVICE_ACCOUNT),
            opts=self.child_opts(),
        )
        # 5,196 characters compact: within a role's 10,240 for inline policies (quota rules).
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=controller_policy_text(),
            opts=self.child_opts(),
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            chart="aws-load-balancer-controller",
            version=CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPOSITORY),
            namespace=NAMESPACE,
            values={
                "clusterName": cluster.cluster_name,
                "region": region,
                "vpcId": vpc_id,
                "serviceAccount": {
                    "create": True,
                    "name": SERVICE_ACCOUNT,
                    "annotations": {"eks.amazonaws.com/role-arn": self.role.arn},
                },
                "ingressClass": INGRESS_CLASS,
                "createIngressClassResource": True,
                # Every load balancer of the class is internal, whatever an Ingress says.
                "ingressClassParams": {"create": True, "spec": {"scheme": "internal"}},
                "defaultTargetType": "ip",  # pods are targets: the VPC CNI gives them VPC IPs
                "nodeSelector": node_selector,
            },
            atomic=True,
            opts=self.child_opts(provider=cluster.provider, depends_on=[self.role]),
        )
        self.logs_bucket: pulumi.Output[str] = self.logs.name_output
        self.register_outputs({"roleArn": self.role.arn, "accessLogsBucket": self.logs_bucket})
