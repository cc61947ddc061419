"""SageMaker serving rules: encryption, isolation, availability, scaling, instance types and
data capture."""

from __future__ import annotations

from fnmatch import fnmatchcase

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from infra.catalog import APPROVED_ENDPOINT_TYPES, has_local_storage
from policies.framework import (
    as_list,
    dig,
    is_prod,
    of_types,
    references,
    resource_rule,
    setting,
    stack_rule,
)

MODEL = "aws:sagemaker/model:Model"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _instance_variants(props) -> list:
    """Variants that run on instances (serverless variants have no instance count or type)."""
    return [v for v in as_list(props.get("productionVariants")) if not dig(v, "serverlessConfig")]


@resource_rule(
    name="sagemaker-endpoint-config-kms-key",
    description="Endpoint configurations encrypt the instances' storage volumes with a KMS key "
    "(instance-store volumes, which SageMaker refuses a key for, are encrypted in hardware).",
    severity=Severity.HIGH,
    remediation="Set kmsKeyArn on the endpoint configuration to the platform KMS key; leave it "
    "unset when a variant's instance type has instance storage (g4dn, g5, m5d, ...).",
    resource_types=(ENDPOINT_CONFIG,),
)
def sagemaker_endpoint_config_kms_key(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    local = sorted(
        str(dig(v, "instanceType"))
        for v in _instance_variants(args.props)
        if has_local_storage(str(dig(v, "instanceType") or ""))
    )
    if local and args.props.get("kmsKeyArn"):
        report(
            f"kmsKeyArn is set, but {', '.join(local)} has instance storage: SageMaker rejects it"
        )
    elif not local and not args.props.get("kmsKeyArn"):
        report("no kmsKeyArn")


@resource_rule(
    name="sagemaker-model-isolation-in-prod",
    description="In prod a model container runs with network isolation or inside the VPC.",
    severity=Severity.HIGH,
    remediation="Set enableNetworkIsolation=true, or vpcConfig {subnets, securityGroupIds} "
    "with the platform's private subnets.",
    resource_types=(MODEL,),
)
def sagemaker_model_isolation_in_prod(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if not is_prod(args.urn):
        return
    isolated = bool(args.props.get("enableNetworkIsolation"))
    in_vpc = bool(dig(args.props, "vpcConfig", "subnets")) and bool(
        dig(args.props, "vpcConfig", "securityGroupIds")
    )
    if not (isolated or in_vpc):
        report("neither enableNetworkIsolation nor vpcConfig is set")


@resource_rule(
    name="sagemaker-min-instances-in-prod",
    description="In prod every endpoint variant starts with at least two instances (one per AZ), "
    "so one instance failure does not take the endpoint down.",
    severity=Severity.HIGH,
    remediation="Set initialInstanceCount >= 2 on every production variant (and a scaling "
    "target minCapacity >= 2).",
    resource_types=(ENDPOINT_CONFIG,),
)
def sagemaker_min_instances_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_prod(args.urn):
        return
    for variant in _instance_variants(args.props):
        count = dig(variant, "initialInstanceCount", default=1)
        if count < 2:
            report(f"variant {dig(variant, 'variantName')} has initialInstanceCount {count}")


_INSTANCE_TYPES = {
    "allowedInstanceTypes": {
        "type": "array",
        "items": {"type": "string"},
        "description": "SageMaker instance types (shell patterns allowed) endpoints may use.",
        "default": list(APPROVED_ENDPOINT_TYPES),  # placement chooses only among these
    }
}


@resource_rule(
    name="sagemaker-instance-type-allowed",
    description="Endpoint variants use instance types from the allow-list.",
    severity=Severity.MEDIUM,
    remediation="Pick an allowed instance type, or extend allowedInstanceTypes in the pack config "
    "after a cost review.",
    resource_types=(ENDPOINT_CONFIG,),
    config=_INSTANCE_TYPES,
)
def sagemaker_instance_type_allowed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = [str(p) for p in setting(args, _INSTANCE_TYPES, "allowedInstanceTypes")]
    for variant in _instance_variants(args.props):
        instance_type = str(dig(variant, "instanceType", default=""))
        if not any(fnmatchcase(instance_type, pattern) for pattern in allowed):
            report(f"variant {dig(variant, 'variantName')} uses {instance_type or 'no type'}")


@resource_rule(
    name="sagemaker-data-capture-in-prod",
    description="In prod endpoint configurations capture requests and responses to S3.",
    severity=Severity.MEDIUM,
    remediation="Set dataCaptureConfig {enableCapture: true, initialSamplingPercentage > 0, "
    "destinationS3Uri, captureOptions [Input, Output]}.",
    resource_types=(ENDPOINT_CONFIG,),
)
def sagemaker_data_capture_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_prod(args.urn):
        return
    capture = args.props.get("dataCaptureConfig")
    if not capture:
        report("no dataCaptureConfig")
        return
    if dig(capture, "enableCapture") is False:
        report("dataCaptureConfig.enableCapture is false")
    if not dig(capture, "initialSamplingPercentage"):
        report("dataCaptureConfig.initialSamplingPercentage is 0 or missing")
    if not dig(capture, "destinationS3Uri"):
        report("dataCaptureConfig.destinationS3Uri is missing")


@stack_rule(
    name="sagemaker-variant-autoscaling",
    description="Every instance-backed endpoint variant has an Application Auto Scaling target "
    "and a scaling policy on sagemaker:variant:DesiredInstanceCount.",
    severity=Severity.MEDIUM,
    remediation="Create aws.appautoscaling.Target (resourceId endpoint/<endpoint>/variant/"
    "<variant>) and a TargetTrackingScaling aws.appautoscaling.Policy on it.",
)
def sagemaker_variant_autoscaling(args: StackValidationArgs, report: ReportViolation) -> None:
    configs = of_types(args.resources, ENDPOINT_CONFIG)
    targets = {
        r.props.get("resourceId")
        for r in of_types(args.resources, SCALING_TARGET)
        if r.props.get("scalableDimension") == VARIANT_DIMENSION
    }
    policies = {
        r.props.get("resourceId")
        for r in of_types(args.resources, SCALING_POLICY)
        if r.props.get("scalableDimension") == VARIANT_DIMENSION
    }
    for endpoint in of_types(args.resources, ENDPOINT):
        config = next(
            (c for c in configs if references(endpoint, "endpointConfigName", c, "name")), None
        )
        if config is None:
            report("its endpoint configuration is not part of this stack", endpoint.urn)
            continue
        for variant in _instance_variants(config.props):
            resource_id = (
                f"endpoint/{endpoint.props.get('name')}/variant/{dig(variant, 'variantName')}"
            )
            if resource_id not in targets:
                report(f"no scaling target for {resource_id}", endpoint.urn)
            elif resource_id not in policies:
                report(f"no scaling policy for {resource_id}", endpoint.urn)
