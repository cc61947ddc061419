"""What the estimate leaves out, and why: every resource type the platform creates is either priced
(``cost_model.estimate``) or listed here with its reason, so a $0 is a fact, not a gap.

Three kinds:
- ``free``: AWS charges nothing for the resource itself (what it does may be priced elsewhere: an
  IAM role is free, the endpoint that assumes it is not);
- ``elsewhere``: its cost is in another line (Kubernetes objects run on the node groups, a
  component's children are priced one by one);
- ``usage``: charged only by use the graph cannot know (log ingestion, build minutes); the report
  names these so nobody reads the total as everything.
A type in none of them is reported as ``unknown``: the estimate is then incomplete, and says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    FREE = "free"
    ELSEWHERE = "elsewhere"
    USAGE = "usage"
    UNKNOWN = "unknown"


_FREE_IAM = "IAM is free"
_FREE_CONFIG = "configuration: no charge of its own"

NOT_PRICED: dict[str, tuple[Kind, str]] = {
    # IAM (aws.amazon.com/iam: "offered at no additional charge").
    "aws:iam/role:Role": (Kind.FREE, _FREE_IAM),
    "aws:iam/policy:Policy": (Kind.FREE, _FREE_IAM),
    "aws:iam/rolePolicy:RolePolicy": (Kind.FREE, _FREE_IAM),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (Kind.FREE, _FREE_IAM),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": (Kind.FREE, _FREE_IAM),
    # The VPC: its NAT gateways, public addresses and interface endpoints are priced.
    "aws:ec2/vpc:Vpc": (Kind.FREE, "a VPC is free"),
    "aws:ec2/subnet:Subnet": (Kind.FREE, "subnets are free"),
    "aws:ec2/routeTable:RouteTable": (Kind.FREE, "route tables are free"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (Kind.FREE, _FREE_CONFIG),
    "aws:ec2/internetGateway:InternetGateway": (Kind.FREE, "internet gateways are free"),
    "aws:ec2/securityGroup:SecurityGroup": (Kind.FREE, "security groups are free"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (Kind.FREE, _FREE_CONFIG),
    "aws:ec2/launchTemplate:LaunchTemplate": (
        Kind.FREE,
        "free: its instances are priced on the node group",
    ),
    # EKS: the cluster and node groups are priced.
    "aws:eks/accessEntry:AccessEntry": (Kind.FREE, _FREE_CONFIG),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (Kind.FREE, _FREE_CONFIG),
    # An add-on is free and its pods run on the node groups, but amazon-cloudwatch-observability
    # (Container Insights, ClusterSettings.container_insights, on by default) bills what it sends:
    # "Metrics collected by Container Insights are charged as custom metrics" (AWS observability
    # best practices guide, Container Insights; with enhanced observability, per observation),
    # and its performance events and logs per GB ingested.
    "aws:eks/addon:Addon": (
        Kind.USAGE,
        "Container Insights' metrics and logs, billed by CloudWatch per use",
    ),
    # KMS: the key is priced per month; its alias is free.
    "aws:kms/alias:Alias": (Kind.FREE, "aliases are free"),
    # S3: storage is priced on the bucket (declared size); its configuration is free.
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (Kind.FREE, _FREE_CONFIG),
    "aws:s3/bucketPolicy:BucketPolicy": (Kind.FREE, _FREE_CONFIG),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (Kind.FREE, _FREE_CONFIG),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        Kind.FREE,
        _FREE_CONFIG,
    ),
    "aws:s3/bucketVersioning:BucketVersioning": (Kind.FREE, _FREE_CONFIG),
    "aws:s3/bucketObjectv2:BucketObjectv2": (
        Kind.ELSEWHERE,
        "its bytes are in its bucket's declared storage",
    ),
    # DynamoDB: the table is priced; an item is part of its storage.
    "aws:dynamodb/tableItem:TableItem": (Kind.ELSEWHERE, "part of its table's storage"),
    # SageMaker: instances are priced on the endpoint configuration, runs on their schedules.
    "aws:sagemaker/endpoint:Endpoint": (
        Kind.ELSEWHERE,
        "its instances are priced on its endpoint configuration",
    ),
    "aws:sagemaker/model:Model": (Kind.FREE, "a model definition is free"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": (Kind.FREE, "the model registry is free"),
    "aws:sagemaker/pipeline:Pipeline": (
        Kind.ELSEWHERE,
        "Pipelines charge nothing; their training and processing runs are priced",
    ),
    "aws:appautoscaling/target:Target": (Kind.FREE, "Application Auto Scaling is free"),
    "aws:appautoscaling/policy:Policy": (Kind.FREE, "Application Auto Scaling is free"),
    # Events and schedules: AWS service events and rules are free; runs are priced.
    "aws:cloudwatch/eventRule:EventRule": (
        Kind.FREE,
        "rules on AWS service events are free (aws.amazon.com/eventbridge/pricing)",
    ),
    "aws:cloudwatch/eventConnection:EventConnection": (
        Kind.USAGE,
        "included in its API destination's invocations (the connection's secret too)",
    ),
    "aws:cloudwatch/eventApiDestination:EventApiDestination": (
        Kind.USAGE,
        "$0.20 per million invocations (one per approved model version)",
    ),
    "aws:scheduler/scheduleGroup:ScheduleGroup": (Kind.FREE, _FREE_CONFIG),
    "aws:emrcontainers/virtualCluster:VirtualCluster": (
        Kind.ELSEWHERE,
        "free; its runs are priced on their job templates and schedules",
    ),
    # Streaming: the brokers are priced on the cluster.
    "aws:msk/configuration:Configuration": (Kind.FREE, _FREE_CONFIG),
    "aws:msk/clusterPolicy:ClusterPolicy": (Kind.FREE, _FREE_CONFIG),
    "aws:msk/topic:Topic": (Kind.ELSEWHERE, "its partitions live on the priced brokers"),
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": (
        Kind.ELSEWHERE,
        "no fixed charge; billed per GB read from its topic, priced on each publishing model's "
        "line from its declared events (cost_model/events.py)",
    ),
    # Alerts, logs, budgets, DNS.
    "aws:sns/topic:Topic": (Kind.USAGE, "per million publishes and deliveries, after a free tier"),
    "aws:sns/topicPolicy:TopicPolicy": (Kind.FREE, _FREE_CONFIG),
    "aws:sns/topicSubscription:TopicSubscription": (Kind.FREE, _FREE_CONFIG),
    "aws:cloudwatch/logGroup:LogGroup": (Kind.USAGE, "per GB ingested and per GB-month stored"),
    "aws:budgets/budget:Budget": (
        Kind.FREE,
        "budgets without actions are free (the Price List's AWSBudgets offer)",
    ),
    "aws:route53/record:Record": (
        Kind.USAGE,
        "records are free; queries to a private zone cost per million",
    ),
    # CI: the runner bills by build minute.
    "aws:codebuild/project:Project": (Kind.USAGE, "per build minute of its compute type"),
    "aws:codebuild/webhook:Webhook": (Kind.FREE, _FREE_CONFIG),
    # The routes' token issuer: its app clients and secrets are priced (cost_model/route_auth.py).
    "aws:cognito/userPool:UserPool": (
        Kind.FREE,
        "billed per monthly active user, and the pool has none (machine clients only)",
    ),
    "aws:cognito/userPoolDomain:UserPoolDomain": (Kind.FREE, _FREE_CONFIG),
    "aws:cognito/resourceServer:ResourceServer": (Kind.FREE, _FREE_CONFIG),
    "aws:secretsmanager/secretVersion:SecretVersion": (
        Kind.ELSEWHERE,
        "billed with its secret (per secret, not per version)",
    ),
    # AMP: the workspace, scraper and rule namespaces are priced.
    "aws:amp/alertManagerDefinition:AlertManagerDefinition": (Kind.FREE, _FREE_CONFIG),
    # Grafana: the workspace is priced by licences; what is inside it is free.
    "aws:grafana/workspaceServiceAccount:WorkspaceServiceAccount": (Kind.FREE, _FREE_CONFIG),
    "aws:grafana/workspaceServiceAccountToken:WorkspaceServiceAccountToken": (
        Kind.FREE,
        _FREE_CONFIG,
    ),
}

# Whole namespaces of types: Kubernetes objects run on the priced node groups (the Ingress, which
# makes a load balancer, is priced itself); mlplat's components are priced through their children;
# Pulumi's own resources and Grafana's objects cost nothing.
NOT_PRICED_PREFIXES: dict[str, tuple[Kind, str]] = {
    "kubernetes:": (Kind.ELSEWHERE, "runs on the priced node groups"),
    "mlplat:": (Kind.ELSEWHERE, "a component: its resources are priced one by one"),
    "pulumi:": (Kind.FREE, "Pulumi's own bookkeeping"),
    "grafana:": (Kind.FREE, "objects inside the priced Grafana workspace"),
}


@dataclass(frozen=True)
class Unpriced:
    type: str
    count: int
    kind: Kind
    reason: str


def why_not_priced(type_: str) -> tuple[Kind, str]:
    if type_ in NOT_PRICED:
        return NOT_PRICED[type_]
    for prefix, answer in NOT_PRICED_PREFIXES.items():
        if type_.startswith(prefix):
            return answer
    return Kind.UNKNOWN, "no price known: the estimate does not include it"


def unpriced(types: Iterable[str], priced: frozenset[str]) -> tuple[Unpriced, ...]:
    """The types among ``types`` the estimator does not price, with how many and why."""
    counts = Counter(t for t in types if t not in priced)
    return tuple(Unpriced(t, n, *why_not_priced(t)) for t, n in sorted(counts.items()))
