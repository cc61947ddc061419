"""Compliant resources for the guardrail tests, and the helpers that build exports from them.

Each builder returns one resource that passes every rule in prod (the strictest environment);
a test changes one property with `changed` and expects that rule's name back.
"""

from __future__ import annotations

import copy
import json
from typing import Any

PROJECT = "mlplat"
REGION = "eu-west-1"
DELETE = object()


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


def resource(
    type_: str,
    name: str,
    inputs: dict[str, Any],
    *,
    stack: str = "prod",
    outputs: dict[str, Any] | None = None,
    protect: bool | None = None,
    depends_on: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """One export entry; stateful resources are protected in prod unless told otherwise."""
    return {
        "urn": urn(stack, type_, name),
        "custom": True,
        "id": f"{name}-id",
        "type": type_,
        "inputs": inputs,
        "outputs": {**inputs, **(outputs or {})},
        "protect": stack == "prod" if protect is None else protect,
        "dependencies": sorted({u for urns in (depends_on or {}).values() for u in urns}),
        "propertyDependencies": depends_on or {},
    }


def export(*resources: dict[str, Any], stack: str = "prod") -> dict[str, Any]:
    stack_entry = {
        "urn": urn(stack, "pulumi:pulumi:Stack", f"{PROJECT}-{stack}"),
        "custom": False,
        "type": "pulumi:pulumi:Stack",
        "inputs": {},
        "outputs": {},
    }
    # The default AWS provider, as the engine records it; resources refer to it.
    provider = {
        "urn": urn(stack, "pulumi:providers:aws", "default_7_0_0"),
        "custom": True,
        "id": "provider-id",
        "type": "pulumi:providers:aws",
        "inputs": {"region": REGION},
        "outputs": {"region": REGION},
    }
    reference = f"{provider['urn']}::{provider['id']}"
    resources = tuple(
        {**r, "provider": reference} if r["type"].startswith("aws:") else r for r in resources
    )
    return {
        "version": 3,
        "deployment": {"manifest": {}, "resources": [stack_entry, provider, *resources]},
    }


def changed(entry: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of the entry with inputs (and outputs) at dotted `path` set, or deleted with DELETE.

    `protect` (a resource option, not a property) is addressed as "@protect".
    """
    entry = copy.deepcopy(entry)
    if path == "@protect":
        entry["protect"] = value
        return entry
    for section in ("inputs", "outputs"):
        node = entry[section]
        *parents, last = path.split(".")
        for step in parents:
            node = node[int(step)] if isinstance(node, list) else node.setdefault(step, {})
        key = int(last) if isinstance(node, list) else last
        if value is DELETE:
            if isinstance(node, list) or key in node:
                del node[key]
        else:
            node[key] = value
    return entry


def in_stack(entry: dict[str, Any], stack: str) -> dict[str, Any]:
    """The same resource in another stack (its URN, environment tag and default protection)."""
    entry = copy.deepcopy(entry)
    old_stack = entry["urn"].split("::", 1)[0].removeprefix("urn:pulumi:")
    entry["urn"] = entry["urn"].replace(f"urn:pulumi:{old_stack}::", f"urn:pulumi:{stack}::", 1)
    for section in ("inputs", "outputs"):
        tags = entry[section].get("tags")
        if isinstance(tags, dict) and "mlplat:environment" in tags:
            tags["mlplat:environment"] = stack
    return entry


def tags(stack: str = "prod", **extra: str) -> dict[str, str]:
    return {"mlplat:environment": stack, **{k.replace("_", ":", 1): v for k, v in extra.items()}}


KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-1111-2222-3333-444455556666"
TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:mlplat-prod-alerts"
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def eks_component_cluster() -> dict[str, Any]:
    return resource(
        "eks:index:Cluster",
        "platform",
        {
            "endpointPrivateAccess": True,
            "endpointPublicAccess": False,
            "encryptionConfigKeyArn": KEY_ARN,
            "enabledClusterLogTypes": LOG_TYPES,
            "authenticationMode": "API",
            "version": "1.35",
            "vpcCniOptions": {"enableNetworkPolicy": True},
            "tags": tags(),
        },
    )


def vpc_cni_addon() -> dict[str, Any]:
    return resource(
        "aws:eks/addon:Addon",
        "platform-vpc-cni",
        {
            "addonName": "vpc-cni",
            "clusterName": "platform",
            "configurationValues": json.dumps({"enableNetworkPolicy": "true"}),
            "tags": tags(),
        },
    )


def aws_eks_cluster() -> dict[str, Any]:
    return resource(
        "aws:eks/cluster:Cluster",
        "platform-eksCluster",
        {
            "vpcConfig": {
                "endpointPrivateAccess": True,
                "endpointPublicAccess": False,
                "subnetIds": ["subnet-1", "subnet-2"],
            },
            "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY_ARN}},
            "enabledClusterLogTypes": LOG_TYPES,
            "accessConfig": {
                "authenticationMode": "API",
                "bootstrapClusterCreatorAdminPermissions": False,
            },
            "version": "1.35",
            "tags": tags(),
        },
    )


def node_group(type_: str, name: str = "system", **overrides: Any) -> dict[str, Any]:
    inputs = {
        "capacityType": "ON_DEMAND",
        "instanceTypes": ["m6i.xlarge"],
        "amiType": "AL2023_x86_64_STANDARD",
        "scalingConfig": {"minSize": 2, "maxSize": 6, "desiredSize": 2},
        "launchTemplate": {"id": "lt-0123456789abcdef0", "version": "1"},
        "taints": [],
        "tags": tags(),
        **overrides,
    }
    return resource(type_, name, inputs)


def gpu_node_group(type_: str) -> dict[str, Any]:
    return node_group(
        type_,
        "gpu",
        amiType="AL2023_x86_64_NVIDIA",
        instanceTypes=["g5.xlarge"],
        scalingConfig={"minSize": 0, "maxSize": 4, "desiredSize": 0},
        taints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}],
    )


def spot_node_group(type_: str) -> dict[str, Any]:
    return node_group(
        type_,
        "spot",
        capacityType="SPOT",
        instanceTypes=["m5.xlarge", "m6i.xlarge", "m6a.xlarge"],
        taints=[{"key": "mlplat.io/spot", "value": "true", "effect": "NO_SCHEDULE"}],
    )


def launch_template(name: str = "system-lt") -> dict[str, Any]:
    return resource(
        "aws:ec2/launchTemplate:LaunchTemplate",
        name,
        {
            "metadataOptions": {
                "httpTokens": "required",
                "httpEndpoint": "enabled",
                "httpPutResponseHopLimit": 2,
            },
            "tags": tags(),
        },
        outputs={"id": "lt-0123456789abcdef0", "name": name},
    )


def with_launch_template(group: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    group = copy.deepcopy(group)
    group["propertyDependencies"] = {"launchTemplate": [template["urn"]]}
    group["dependencies"] = [template["urn"]]
    return group


def sagemaker_model() -> dict[str, Any]:
    return resource(
        "aws:sagemaker/model:Model",
        "cpu-sklearn-model",
        {
            "executionRoleArn": "arn:aws:iam::123456789012:role/mlplat-prod-team-a-sagemaker",
            "primaryContainer": {
                "mode": "MultiModel",
                "modelDataUrl": "s3://mlplat-prod-artifacts/endpoints/cpu-sklearn/",
            },
            "enableNetworkIsolation": True,
            "tags": tags(),
        },
    )


def gpu_endpoint_configuration() -> dict[str, Any]:
    """On an instance-store (g5) instance: hardware-encrypted, and no KMS key allowed."""
    config = endpoint_configuration("gpu-triton-config")
    del config["inputs"]["kmsKeyArn"]
    config["inputs"]["productionVariants"][0]["instanceType"] = "ml.g5.xlarge"
    return config


def endpoint_configuration(name: str = "cpu-sklearn-config") -> dict[str, Any]:
    return resource(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        name,
        {
            "name": name,
            "kmsKeyArn": KEY_ARN,
            "productionVariants": [
                {
                    "variantName": "primary",
                    "modelName": "cpu-sklearn-model",
                    "instanceType": "ml.m5.xlarge",
                    "initialInstanceCount": 2,
                }
            ],
            "dataCaptureConfig": {
                "enableCapture": True,
                "initialSamplingPercentage": 20,
                "destinationS3Uri": "s3://mlplat-prod-capture/cpu-sklearn/",
                "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
            },
            "tags": tags(),
        },
    )


def endpoint_stack() -> list[dict[str, Any]]:
    config = endpoint_configuration()
    endpoint = resource(
        "aws:sagemaker/endpoint:Endpoint",
        "cpu-sklearn",
        {
            "name": "cpu-sklearn",
            "endpointConfigName": "cpu-sklearn-config",
            "tags": tags(),
        },
        depends_on={"endpointConfigName": [config["urn"]]},
    )
    scaling = {
        "resourceId": "endpoint/cpu-sklearn/variant/primary",
        "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "serviceNamespace": "sagemaker",
    }
    target = resource(
        "aws:appautoscaling/target:Target",
        "cpu-sklearn-scaling",
        {**scaling, "minCapacity": 2, "maxCapacity": 6, "tags": tags()},
    )
    policy = resource(
        "aws:appautoscaling/policy:Policy",
        "cpu-sklearn-scaling-policy",
        {**scaling, "policyType": "TargetTrackingScaling"},
    )
    return [config, endpoint, target, policy]


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


SAGEMAKER_TRUST = {
    "Effect": "Allow",
    "Principal": {"Service": "sagemaker.amazonaws.com"},
    "Action": "sts:AssumeRole",
}
READ_ARTIFACTS = {
    "Sid": "ReadArtifacts",
    "Effect": "Allow",
    "Action": ["s3:GetObject"],
    "Resource": ["arn:aws:s3:::mlplat-prod-artifacts/team-a/*"],
}
GITHUB_TRUST = {
    "Effect": "Allow",
    "Principal": {
        "Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    },
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:acme/mlplat:ref:refs/heads/main",
        }
    },
}


def role(name: str = "team-a-sagemaker", trust: dict[str, Any] = SAGEMAKER_TRUST) -> dict[str, Any]:
    return resource(
        "aws:iam/role:Role",
        name,
        {
            "assumeRolePolicy": document(trust),
            "inlinePolicies": [{"name": "artifacts", "policy": document(READ_ARTIFACTS)}],
            "tags": tags(),
        },
    )


def iam_policy() -> dict[str, Any]:
    return resource(
        "aws:iam/policy:Policy", "ci-deployer", {"policy": document(READ_ARTIFACTS), "tags": tags()}
    )


def role_policy_attachment() -> dict[str, Any]:
    return resource(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "auditor-readonly",
        {"role": "mlplat-prod-auditor", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
    )


def bucket_policy() -> dict[str, Any]:
    deny_plain_http = {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::mlplat-prod-artifacts/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return resource(
        "aws:s3/bucketPolicy:BucketPolicy",
        "artifacts-policy",
        {"bucket": "mlplat-prod-artifacts", "policy": document(deny_plain_http)},
    )


def table() -> dict[str, Any]:
    return resource(
        "aws:dynamodb/table:Table",
        "registry",
        {
            "billingMode": "PAY_PER_REQUEST",
            "hashKey": "model",
            "rangeKey": "version",
            "pointInTimeRecovery": {"enabled": True},
            "serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY_ARN},
            "deletionProtectionEnabled": True,
            "tags": tags(),
        },
    )


def bucket_stack(
    bucket_type: str = "aws:s3/bucketV2:BucketV2", *, v2_configs: bool = False
) -> list[dict[str, Any]]:
    name = "mlplat-prod-artifacts"
    bucket = resource(
        bucket_type,
        "artifacts",
        {"bucket": name, "tags": tags()},
        outputs={"id": name, "arn": f"arn:aws:s3:::{name}"},
    )
    suffix = "V2" if v2_configs else ""
    refers = {"bucket": [bucket["urn"]]}
    block = resource(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "artifacts-pab",
        {
            "bucket": name,
            "blockPublicAcls": True,
            "blockPublicPolicy": True,
            "ignorePublicAcls": True,
            "restrictPublicBuckets": True,
        },
        depends_on=refers,
    )
    versioning = resource(
        f"aws:s3/bucketVersioning{suffix}:BucketVersioning{suffix}",
        "artifacts-versioning",
        {"bucket": name, "versioningConfiguration": {"status": "Enabled"}},
        depends_on=refers,
    )
    encryption = resource(
        f"aws:s3/bucketServerSideEncryptionConfiguration{suffix}:"
        f"BucketServerSideEncryptionConfiguration{suffix}",
        "artifacts-sse",
        {
            "bucket": name,
            "rules": [
                {
                    "applyServerSideEncryptionByDefault": {
                        "sseAlgorithm": "aws:kms",
                        "kmsMasterKeyId": KEY_ARN,
                    },
                    "bucketKeyEnabled": True,
                }
            ],
        },
        depends_on=refers,
    )
    return [bucket, block, versioning, encryption]


def kms_key() -> dict[str, Any]:
    return resource(
        "aws:kms/key:Key",
        "platform",
        {"enableKeyRotation": True, "deletionWindowInDays": 30, "tags": tags()},
    )


def topic() -> dict[str, Any]:
    return resource(
        "aws:sns/topic:Topic",
        "alerts",
        {"name": "mlplat-prod-alerts", "kmsMasterKeyId": KEY_ARN, "tags": tags()},
    )


def alarm() -> dict[str, Any]:
    return resource(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "cpu-sklearn-5xx",
        {
            "metricName": "Invocation5XXErrors",
            "namespace": "AWS/SageMaker",
            "comparisonOperator": "GreaterThanThreshold",
            "threshold": 5,
            "evaluationPeriods": 3,
            "alarmActions": [TOPIC_ARN],
            "okActions": [TOPIC_ARN],
            "tags": tags(),
        },
    )


def budget() -> dict[str, Any]:
    def notification(kind: str) -> dict[str, Any]:
        return {
            "notificationType": kind,
            "comparisonOperator": "GREATER_THAN",
            "threshold": 80,
            "thresholdType": "PERCENTAGE",
            "subscriberSnsTopicArns": [TOPIC_ARN],
        }

    return resource(
        "aws:budgets/budget:Budget",
        "environment",
        {
            "budgetType": "COST",
            "limitAmount": "5000",
            "limitUnit": "USD",
            "timeUnit": "MONTHLY",
            "notifications": [notification("ACTUAL"), notification("FORECASTED")],
            "tags": tags(),
        },
    )


def deployment() -> dict[str, Any]:
    container = {
        "name": "server",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ranker:1",
        "imagePullPolicy": "Always",
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    pod_security = {
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return resource(
        "kubernetes:apps/v1:Deployment",
        "ranker",
        {
            "metadata": {"name": "ranker", "namespace": "team-a"},
            "spec": {
                "replicas": 2,
                "template": {
                    "metadata": {"labels": {"app": "ranker"}},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security,
                        "containers": [container],
                        "volumes": [{"name": "tmp", "emptyDir": {}}],
                    },
                },
            },
        },
    )


def tenancy_stack() -> list[dict[str, Any]]:
    namespace = resource(
        "kubernetes:core/v1:Namespace",
        "team-a",
        {"metadata": {"name": "team-a", "labels": {"mlplat.io/team": "team-a"}}},
    )
    quota = resource(
        "kubernetes:core/v1:ResourceQuota",
        "team-a-quota",
        {
            "metadata": {"name": "team-a", "namespace": "team-a"},
            "spec": {
                "hard": {
                    "requests.cpu": "32",
                    "requests.memory": "128Gi",
                    "requests.nvidia.com/gpu": "4",
                    "pods": "100",
                }
            },
        },
    )
    return [namespace, quota]
