"""What AWS would answer when a resource is created: ids, ARNs and names in their real formats.

IAM policies and dashboards are built from these values, so they must look like AWS's: S3 ARNs
carry no region or account, IAM ARNs no region, SageMaker and DynamoDB ARNs both, SageMaker
lowercases names in ARNs, and Pulumi auto-names resources ``<name>-<7 hex>``. Values are derived
from the URN by hashing, so two runs give identical graphs.

A row per resource type: which input holds the physical name, how the id is formed, the ARN
template, and extra outputs. Types without a row get the generic rule at the bottom.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Outputs = dict[str, Any]


@dataclass(frozen=True)
class Context:
    """What a row may use: the resource's identity and the environment's account and region."""

    urn: str
    type_: str
    name: str
    inputs: dict[str, Any]
    region: str
    account: str

    def digest(self, length: int) -> str:
        return hashlib.sha256(self.urn.encode()).hexdigest()[:length]

    def uuid(self) -> str:
        return str(uuid.UUID(hashlib.md5(self.urn.encode()).hexdigest()))

    def physical_name(self, name_input: str | None, max_length: int = 63) -> str:
        """The explicit name, or Pulumi's auto-name: the logical name plus a random suffix."""
        if name_input and self.inputs.get(name_input):
            return str(self.inputs[name_input])
        return f"{self.name[: max_length - 8]}-{self.digest(7)}"


@dataclass(frozen=True)
class Identity:
    name_input: str | None = "name"
    arn: str | None = None  # format fields: name, id, region, account, and the inputs
    id: str = "{name}"
    lowercase_arn_name: bool = False
    extra: Callable[[Context, Outputs], Outputs] = field(default=lambda ctx, out: {})

    def outputs(self, ctx: Context) -> tuple[str, Outputs]:
        name = ctx.physical_name(self.name_input)
        fields = {
            **_format_fields(ctx.inputs),
            "name": name,
            "region": ctx.region,
            "account": ctx.account,
            "uuid": ctx.uuid(),
            "hex17": ctx.digest(17),
            "hex6": ctx.digest(6),
            "issuer": str(ctx.inputs.get("url", "")).removeprefix("https://"),
        }
        resource_id = self.id.format(**fields)
        fields["id"] = resource_id
        outputs: Outputs = dict(ctx.inputs)
        if self.name_input:
            outputs[self.name_input] = name
        if self.arn:
            arn_fields = {**fields, "name": name.lower() if self.lowercase_arn_name else name}
            outputs["arn"] = self.arn.format(**arn_fields)
        outputs["id"] = resource_id
        outputs.update(self.extra(ctx, outputs))
        if "tags" in ctx.inputs:
            outputs["tagsAll"] = ctx.inputs["tags"]
        return resource_id, outputs


def _format_fields(inputs: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in inputs.items() if isinstance(value, str | int)}


def _ec2(prefix: str, kind: str) -> Identity:
    return Identity(
        name_input=None,
        id=prefix + "-{hex17}",
        arn="arn:aws:ec2:{region}:{account}:" + kind + "/{id}",
    )


def _sagemaker(kind: str, name_input: str = "name") -> Identity:
    return Identity(
        name_input=name_input,
        arn="arn:aws:sagemaker:{region}:{account}:" + kind + "/{name}",
        lowercase_arn_name=True,
    )


def _bucket_extra(ctx: Context, out: Outputs) -> Outputs:
    return {
        "bucketDomainName": f"{out['bucket']}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{out['bucket']}.s3.{ctx.region}.amazonaws.com",
        "region": ctx.region,
        "hostedZoneId": "Z3AQBSTGFYJSTF",
    }


def _object_extra(ctx: Context, out: Outputs) -> Outputs:
    return {"etag": ctx.digest(32), "versionId": ctx.digest(32)}


def _role_extra(ctx: Context, out: Outputs) -> Outputs:
    return {"uniqueId": "AROA" + ctx.digest(17).upper(), "createDate": "2026-01-01T00:00:00Z"}


def _kms_extra(ctx: Context, out: Outputs) -> Outputs:
    return {"keyId": out["id"]}


def _table_extra(ctx: Context, out: Outputs) -> Outputs:
    extra: Outputs = {}
    if ctx.inputs.get("streamEnabled"):
        extra["streamArn"] = f"{out['arn']}/stream/2026-01-01T00:00:00.000"
    return extra


def _eks_cluster_extra(ctx: Context, out: Outputs) -> Outputs:
    """pulumi-eks's plain outputs: endpoint, OIDC issuer/provider, security groups, kubeconfig."""
    name, cluster_id = out["name"], ctx.digest(32).upper()
    endpoint = f"https://{cluster_id}.gr7.{ctx.region}.eks.amazonaws.com"
    issuer = f"oidc.eks.{ctx.region}.amazonaws.com/id/{cluster_id}"
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "kubernetes",
                "cluster": {
                    "server": endpoint,
                    "certificate-authority-data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
                },
            }
        ],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "current-context": "aws",
        "users": [
            {
                "name": "aws",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", name, "--output", "json"],
                    }
                },
            }
        ],
    }
    return {
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "oidcIssuer": issuer,
        "oidcProviderUrl": f"https://{issuer}",
        "oidcProviderArn": f"arn:aws:iam::{ctx.account}:oidc-provider/{issuer}",
        "clusterSecurityGroupId": f"sg-{ctx.digest(17)}",
        "nodeSecurityGroupId": f"sg-{ctx.digest(40)[-17:]}",
    }


IDENTITIES: dict[str, Identity] = {
    # S3: global names, ARNs without region or account.
    "aws:s3/bucket:Bucket": Identity(
        name_input="bucket", arn="arn:aws:s3:::{name}", extra=_bucket_extra
    ),
    "aws:s3/bucketV2:BucketV2": Identity(
        name_input="bucket", arn="arn:aws:s3:::{name}", extra=_bucket_extra
    ),
    "aws:s3/bucketObjectv2:BucketObjectv2": Identity(
        name_input="key", arn="arn:aws:s3:::{bucket}/{name}", extra=_object_extra
    ),
    "aws:s3/bucketObject:BucketObject": Identity(
        name_input="key", arn="arn:aws:s3:::{bucket}/{name}", extra=_object_extra
    ),
    # KMS: keys are identified by a UUID.
    "aws:kms/key:Key": Identity(
        name_input=None,
        id="{uuid}",
        arn="arn:aws:kms:{region}:{account}:key/{id}",
        extra=_kms_extra,
    ),
    "aws:kms/alias:Alias": Identity(arn="arn:aws:kms:{region}:{account}:{name}"),
    # IAM: global, ARNs without region.
    "aws:iam/role:Role": Identity(arn="arn:aws:iam::{account}:role/{name}", extra=_role_extra),
    "aws:iam/policy:Policy": Identity(
        arn="arn:aws:iam::{account}:policy/{name}", id="arn:aws:iam::{account}:policy/{name}"
    ),
    "aws:iam/rolePolicy:RolePolicy": Identity(id="{role}:{name}"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Identity(
        name_input=None, id="{role}-{hex17}"
    ),
    # An OIDC provider is named by its issuer URL without the scheme.
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": Identity(
        name_input=None,
        id="arn:aws:iam::{account}:oidc-provider/{issuer}",
        arn="arn:aws:iam::{account}:oidc-provider/{issuer}",
    ),
    # SageMaker: regional, names lowercased in ARNs.
    "aws:sagemaker/model:Model": _sagemaker("model"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _sagemaker("endpoint-config"),
    "aws:sagemaker/endpoint:Endpoint": _sagemaker("endpoint"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": _sagemaker(
        "model-package-group", name_input="modelPackageGroupName"
    ),
    # Application Auto Scaling: the target's id is its resource id.
    "aws:appautoscaling/target:Target": Identity(
        name_input=None,
        id="{resourceId}",
        arn="arn:aws:application-autoscaling:{region}:{account}:scalable-target/{hex17}",
    ),
    "aws:appautoscaling/policy:Policy": Identity(
        arn="arn:aws:autoscaling:{region}:{account}:scalingPolicy:{uuid}:resource/"
        "{serviceNamespace}/{resourceId}:policyName/{name}",
    ),
    # DynamoDB, SNS, CloudWatch, Budgets.
    "aws:dynamodb/table:Table": Identity(
        arn="arn:aws:dynamodb:{region}:{account}:table/{name}", extra=_table_extra
    ),
    "aws:dynamodb/tableItem:TableItem": Identity(name_input=None, id="{tableName}|{hex17}"),
    "aws:sns/topic:Topic": Identity(
        arn="arn:aws:sns:{region}:{account}:{name}", id="arn:aws:sns:{region}:{account}:{name}"
    ),
    "aws:sns/topicSubscription:TopicSubscription": Identity(
        name_input=None, id="{topic}:{uuid}", arn="{topic}:{uuid}"
    ),
    # A topic's policy and a bucket's lifecycle are identified by their parent (no ARN of their
    # own).
    "aws:sns/topicPolicy:TopicPolicy": Identity(name_input=None, id="{arn}"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": Identity(
        name_input=None, id="{bucket}"
    ),
    "aws:cloudwatch/dashboard:Dashboard": Identity(
        name_input="dashboardName", arn="arn:aws:cloudwatch::{account}:dashboard/{name}"
    ),
    # The provider's arn has no ":*" suffix (a log group's own ARN as IAM names it).
    "aws:cloudwatch/logGroup:LogGroup": Identity(
        arn="arn:aws:logs:{region}:{account}:log-group:{name}"
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Identity(
        arn="arn:aws:cloudwatch:{region}:{account}:alarm:{name}"
    ),
    # The model lifecycle (components/lifecycle): pipelines, schedules, EventBridge.
    "aws:sagemaker/pipeline:Pipeline": _sagemaker("pipeline", name_input="pipelineName"),
    "aws:scheduler/schedule:Schedule": Identity(
        arn="arn:aws:scheduler:{region}:{account}:schedule/{groupName}/{name}",
        id="{groupName}/{name}",
    ),
    "aws:scheduler/scheduleGroup:ScheduleGroup": Identity(
        arn="arn:aws:scheduler:{region}:{account}:schedule-group/{name}"
    ),
    "aws:cloudwatch/eventRule:EventRule": Identity(
        arn="arn:aws:events:{region}:{account}:rule/{name}"
    ),
    "aws:cloudwatch/eventTarget:EventTarget": Identity(
        name_input="targetId", id="default-{rule}-{name}"
    ),
    "aws:cloudwatch/eventConnection:EventConnection": Identity(
        arn="arn:aws:events:{region}:{account}:connection/{name}/{uuid}",
        extra=lambda ctx, out: {
            "secretArn": f"arn:aws:secretsmanager:{ctx.region}:{ctx.account}:secret:"
            f"events!connection/{out['name']}/{ctx.uuid()}"
        },
    ),
    "aws:cloudwatch/eventApiDestination:EventApiDestination": Identity(
        arn="arn:aws:events:{region}:{account}:api-destination/{name}/{uuid}"
    ),
    "aws:budgets/budget:Budget": Identity(
        id="{account}:{name}", arn="arn:aws:budgets::{account}:budget/{name}"
    ),
    # EC2 networking: AWS-generated ids with their prefixes.
    "aws:ec2/vpc:Vpc": _ec2("vpc", "vpc"),
    "aws:ec2/subnet:Subnet": _ec2("subnet", "subnet"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": _ec2("nat", "natgateway"),
    "aws:ec2/eip:Eip": _ec2("eipalloc", "elastic-ip"),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/route:Route": _ec2("r-rtb", "route"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _ec2(
        "rtbassoc", "route-table-association"
    ),
    "aws:ec2/securityGroup:SecurityGroup": _ec2("sg", "security-group"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _ec2("sgr", "security-group-rule"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _ec2("vpce", "vpc-endpoint"),
    "aws:ec2/launchTemplate:LaunchTemplate": Identity(
        name_input=None,
        id="lt-{hex17}",
        arn="arn:aws:ec2:{region}:{account}:launch-template/{id}",
        extra=lambda ctx, out: {"latestVersion": 1, "defaultVersion": 1},
    ),
    # EKS: the pulumi-eks cluster is a remote component; its outputs are what its code reads.
    "eks:index:Cluster": Identity(extra=_eks_cluster_extra),
    "aws:eks/nodeGroup:NodeGroup": Identity(
        name_input="nodeGroupName",
        id="{clusterName}:{name}",
        arn="arn:aws:eks:{region}:{account}:nodegroup/{clusterName}/{name}/{uuid}",
    ),
    "aws:eks/accessEntry:AccessEntry": Identity(
        name_input=None,
        id="{clusterName}:{principalArn}",
        arn="arn:aws:eks:{region}:{account}:access-entry/{clusterName}/role/{account}/"
        "{hex17}/{uuid}",
    ),
    # AMP: workspace and scraper ids are generated; the scraper's role is service-linked, with
    # its path (AMP API reference, DescribeScraper roleArn).
    "aws:amp/workspace:Workspace": Identity(
        name_input=None,
        id="ws-{uuid}",
        arn="arn:aws:aps:{region}:{account}:workspace/{id}",
        extra=lambda ctx, out: {
            "prometheusEndpoint": f"https://aps-workspaces.{ctx.region}.amazonaws.com/"
            f"workspaces/{out['id']}/"
        },
    ),
    "aws:amp/scraper:Scraper": Identity(
        name_input=None,
        id="s-{uuid}",
        arn="arn:aws:aps:{region}:{account}:scraper/{id}",
        extra=lambda ctx, out: {
            "roleArn": f"arn:aws:iam::{ctx.account}:role/aws-service-role/scraper.aps."
            f"amazonaws.com/AWSServiceRoleForAmazonPrometheusScraper_{ctx.digest(8)}-{ctx.digest(4)}"
        },
    ),
    "aws:amp/ruleGroupNamespace:RuleGroupNamespace": Identity(
        arn="arn:aws:aps:{region}:{account}:rulegroupsnamespace/{workspaceId}/{name}",
        id="arn:aws:aps:{region}:{account}:rulegroupsnamespace/{workspaceId}/{name}",
    ),
    "aws:amp/alertManagerDefinition:AlertManagerDefinition": Identity(
        name_input=None, id="{workspaceId}"
    ),
    # Amazon Managed Grafana: generated ids; the endpoint is <id>.grafana-workspace.<region>...
    "aws:grafana/workspace:Workspace": Identity(
        name_input=None,
        id="g-{hex17}",
        arn="arn:aws:grafana:{region}:{account}:/workspaces/{id}",
        extra=lambda ctx, out: {
            "endpoint": f"{out['id']}.grafana-workspace.{ctx.region}.amazonaws.com"
        },
    ),
    "aws:grafana/workspaceServiceAccount:WorkspaceServiceAccount": Identity(
        name_input=None,
        id="{workspaceId},{hex17}",
        extra=lambda ctx, out: {"serviceAccountId": ctx.digest(6)},
    ),
    "aws:grafana/workspaceServiceAccountToken:WorkspaceServiceAccountToken": Identity(
        name_input=None,
        id="{workspaceId},{serviceAccountId},{hex17}",
        extra=lambda ctx, out: {"key": "glsa_offline_" + ctx.digest(32)},
    ),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": Identity(
        name_input=None,
        id="{clusterName}#{principalArn}#{policyArn}",
    ),
    # Batch on EMR on EKS (components/batch.py): service-generated ids (25 lowercase characters).
    "aws:emrcontainers/virtualCluster:VirtualCluster": Identity(
        id="{hex17}00000000",
        arn="arn:aws:emr-containers:{region}:{account}:/virtualclusters/{id}",
    ),
    "aws:emrcontainers/jobTemplate:JobTemplate": Identity(
        id="{hex17}00000000", arn="arn:aws:emr-containers:{region}:{account}:/jobtemplates/{id}"
    ),
    # Kafka (components/streaming.py): MSK ARNs are in the kafka namespace, <name>/<uuid>-<n>.
    "aws:msk/cluster:Cluster": Identity(
        name_input="clusterName",
        id="arn:aws:kafka:{region}:{account}:cluster/{name}/{uuid}-2",
        arn="arn:aws:kafka:{region}:{account}:cluster/{name}/{uuid}-2",
        extra=lambda ctx, out: {
            "clusterUuid": f"{ctx.uuid()}-2",
            # b-<n>.<cluster>.<id>.c<k>.kafka.<region>.amazonaws.com:9098, one per broker.
            "bootstrapBrokersSaslIam": ",".join(
                f"b-{n}.{ctx.physical_name('clusterName')}.{ctx.digest(6)}.c2.kafka.{ctx.region}"
                ".amazonaws.com:9098"
                for n in range(1, int(ctx.inputs.get("numberOfBrokerNodes") or 1) + 1)
            ),
        },
    ),
    "aws:msk/configuration:Configuration": Identity(
        arn="arn:aws:kafka:{region}:{account}:configuration/{name}/{uuid}-2",
        id="arn:aws:kafka:{region}:{account}:configuration/{name}/{uuid}-2",
        extra=lambda ctx, out: {"latestRevision": 1},
    ),
    "aws:msk/topic:Topic": Identity(
        id="{clusterArn},{name}",
        extra=lambda ctx, out: {
            "arn": f"{str(ctx.inputs.get('clusterArn', '')).replace(':cluster/', ':topic/', 1)}"
            f"/{out['name']}"
        },
    ),
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": Identity(
        arn="arn:aws:firehose:{region}:{account}:deliverystream/{name}",
        id="arn:aws:firehose:{region}:{account}:deliverystream/{name}",
    ),
    # The routes' token issuer (components/route_auth.py): a pool id is <region>_<alphanumerics>,
    # an app client id 26 alphanumerics; a secret's ARN ends in "-" and six random characters.
    "aws:cognito/userPool:UserPool": Identity(
        id="{region}_{hex17}",
        arn="arn:aws:cognito-idp:{region}:{account}:userpool/{id}",
        extra=lambda ctx, out: {"endpoint": f"cognito-idp.{ctx.region}.amazonaws.com/{out['id']}"},
    ),
    "aws:cognito/userPoolDomain:UserPoolDomain": Identity(name_input="domain", id="{domain}"),
    "aws:cognito/resourceServer:ResourceServer": Identity(
        id="{userPoolId}|{identifier}",
        extra=lambda ctx, out: {
            "scopeIdentifiers": [
                f"{ctx.inputs['identifier']}/{scope['scopeName']}"
                for scope in ctx.inputs.get("scopes") or ()
            ]
        },
    ),
    "aws:cognito/userPoolClient:UserPoolClient": Identity(
        id="{hex17}abcdefghi", extra=lambda ctx, out: {"clientSecret": ctx.digest(51)}
    ),
    "aws:secretsmanager/secret:Secret": Identity(
        arn="arn:aws:secretsmanager:{region}:{account}:secret:{name}-{hex6}",
        id="arn:aws:secretsmanager:{region}:{account}:secret:{name}-{hex6}",
    ),
    "aws:secretsmanager/secretVersion:SecretVersion": Identity(
        name_input=None,
        id="{secretId}|{uuid}",
        extra=lambda ctx, out: {"arn": ctx.inputs.get("secretId"), "versionId": ctx.uuid()},
    ),
}


def _ingress_status(ctx: Context) -> dict[str, Any]:
    """What the load balancer controller writes once it has created the Ingress's internal ALB
    (Pulumi waits for it): the ALB's DNS name, ``internal-k8s-<group>-<hash>-<id>.<region>...``."""
    annotations = (ctx.inputs.get("metadata") or {}).get("annotations") or {}
    group = annotations.get("alb.ingress.kubernetes.io/group.name", "default")
    name = f"k8s-{group.replace('.', '')[:17].rstrip('-')}-{ctx.digest(10)}"
    number = int(ctx.digest(8), 16) % 10**10
    hostname = f"internal-{name}-{number}.{ctx.region}.elb.amazonaws.com"
    return {"loadBalancer": {"ingress": [{"hostname": hostname}]}}


def _generic(ctx: Context) -> tuple[str, Outputs]:
    """Resources without a row: a name, and for AWS an ARN of the common regional shape."""
    package, module, kind = ctx.type_.split(":", 2)
    if package != "aws":
        # Kubernetes and components: the id the provider would report.
        metadata = ctx.inputs.get("metadata") or {}
        namespace, name = metadata.get("namespace"), metadata.get("name") or ctx.name
        resource_id = f"{namespace}/{name}" if namespace else name
        outputs = dict(ctx.inputs)
        if ctx.type_ == "kubernetes:networking.k8s.io/v1:Ingress":
            outputs["status"] = _ingress_status(ctx)
        return resource_id, outputs
    identity = Identity(
        arn=f"arn:aws:{module.split('/')[0]}:{{region}}:{{account}}:{kind.lower()}/{{name}}"
    )
    return identity.outputs(ctx)


def resource_outputs(ctx: Context) -> tuple[str, Outputs]:
    identity = IDENTITIES.get(ctx.type_)
    return identity.outputs(ctx) if identity else _generic(ctx)


# Data sources ("invokes") the program may call, answered as AWS would for this account.
def invoke_result(token: str, args: dict[str, Any], region: str, account: str) -> Outputs:
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {
            "accountId": account,
            "arn": f"arn:aws:iam::{account}:user/mlplat",
            "userId": "AIDA" + account,
            "id": account,
        }
    if token == "aws:iam/getSessionContext:getSessionContext":
        # An assumed role's session -> its role (this engine knows of no role paths); other
        # principals pass through, as the data source documents.
        arn = args["arn"]
        if ":assumed-role/" in arn:
            role = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
            return {"arn": arn, "issuerArn": f"arn:aws:iam::{account}:role/{role}", "id": arn}
        return {"arn": arn, "issuerArn": arn, "id": arn}
    if token == "aws:index/getRegion:getRegion":
        return {
            "name": region,
            "region": region,
            "id": region,
            "endpoint": f"ec2.{region}.amazonaws.com",
        }
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        # Four zones, IDs like AWS's (us-east-1 -> use1-az1..4): us-east-1's include use1-az3,
        # where EKS creates no cluster, so the program must skip it.
        area, direction, number = region.split("-", 2)
        prefix = f"{area}{direction[0]}{number}"
        names = [f"{region}{letter}" for letter in "abcd"]
        ids = [f"{prefix}-az{index}" for index in range(1, 5)]
        return {"names": names, "zoneIds": ids, "id": region}
    if token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
        # A person creates the secret (README); offline, a value that is plainly not a token.
        secret = args["secretId"]
        arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}-AbCdEf"
        return {
            "arn": arn,
            "id": f"{arn}|AWSCURRENT",
            "secretId": secret,
            "secretString": "offline-placeholder-token",
            "versionId": "00000000-0000-0000-0000-000000000000",
            "versionStage": "AWSCURRENT",
            "versionStages": ["AWSCURRENT"],
        }
    raise NotImplementedError(f"the offline engine has no answer for data source {token}")
