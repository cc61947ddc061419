"""A SageMaker multi-model endpoint: one image, one fleet of instances, many models loaded on demand."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from infra.tagging import Ownership

VARIANT_NAME = "primary"  # never renamed: the scaling target is keyed on it


@dataclass(frozen=True)
class EndpointPlan:
    """Plain values deciding what the endpoint is, computed before any resource exists."""

    endpoint_name: str
    team: str
    image: str
    instance_type: str
    uses_gpu: bool
    min_instances: int
    max_instances: int
    target_invocations_per_instance: int
    data_capture_percent: int
    models: tuple[dict, ...]  # {"name", "team", "memoryMb"} for each hosted model


class MultiModelEndpoint(PlatformComponent):
    TYPE = "mlplat:serving:MultiModelEndpoint"

    def __init__(
        self,
        name: str,
        *,
        plan: EndpointPlan,
        execution_role_arn: pulumi.Input[str],
        artifacts_bucket: pulumi.Input[str],
        capture_bucket: pulumi.Input[str],
        kms_key_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, owner=Ownership(team=plan.team), opts=opts)
        self.plan = plan
        self.model_data_prefix = pulumi.Output.concat(
            "s3://", artifacts_bucket, f"/endpoints/{plan.endpoint_name}/"
        )
        self.model = self._create_model(execution_role_arn)
        self.config = self._create_config(capture_bucket, kms_key_arn)
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=plan.endpoint_name,
            endpoint_config_name=self.config.name,
            opts=self.child_opts(),
        )
        self.scaling_target, self.scaling_policy = self._create_scaling()
        self.register_outputs(
            {
                "endpointName": self.endpoint.name,
                "instanceType": plan.instance_type,
                "minInstances": plan.min_instances,
                "maxInstances": plan.max_instances,
                "modelDataUrl": self.model_data_prefix,
                "models": list(plan.models),
            }
        )

    def _create_model(self, execution_role_arn) -> aws.sagemaker.Model:
        return aws.sagemaker.Model(
            f"{self.name}-model",
            execution_role_arn=execution_role_arn,
            primary_container={
                "image": self.plan.image,
                "mode": "MultiModel",
                # An S3 prefix ending in "/": each model is a .tar.gz under it, chosen by TargetModel.
                "model_data_url": self.model_data_prefix,
            },
            opts=self.child_opts(),
        )

    def _create_config(self, capture_bucket, kms_key_arn) -> aws.sagemaker.EndpointConfiguration:
        return aws.sagemaker.EndpointConfiguration(
            f"{self.name}-config",
            kms_key_arn=kms_key_arn,
            production_variants=[
                {
                    "variant_name": VARIANT_NAME,
                    "model_name": self.model.name,
                    "instance_type": self.plan.instance_type,
                    "initial_instance_count": self.plan.min_instances,
                }
            ],
            data_capture_config={
                "enable_capture": self.plan.data_capture_percent > 0,
                "initial_sampling_percentage": max(self.plan.data_capture_percent, 1),
                "destination_s3_uri": pulumi.Output.concat(
                    "s3://", capture_bucket, f"/capture/{self.plan.endpoint_name}/"
                ),
                "kms_key_id": kms_key_arn,
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
            },
            opts=self.child_opts(),
        )

    def _create_scaling(self):
        resource_id = f"endpoint/{self.plan.endpoint_name}/variant/{VARIANT_NAME}"
        target = aws.appautoscaling.Target(
            f"{self.name}-scaling-target",
            service_namespace="sagemaker",
            resource_id=resource_id,
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=self.plan.min_instances,
            max_capacity=self.plan.max_instances,
            opts=self.child_opts(depends_on=[self.endpoint]),
        )
        policy = aws.appautoscaling.Policy(
            f"{self.name}-scaling-policy",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            resource_id=target.resource_id,
            scalable_dimension=target.scalable_dimension,
            target_tracking_scaling_policy_configuration={
                # On a multi-model endpoint this counts the invocations of all its models together.
                "predefined_metric_specification": {
                    "predefined_metric_type": "SageMakerVariantInvocationsPerInstance"
                },
                "target_value": self.plan.target_invocations_per_instance,
                "scale_in_cooldown": 300,
                "scale_out_cooldown": 60,
            },
            opts=self.child_opts(),
        )
        return target, policy
