"""A SageMaker multi-model endpoint: one image, one fleet, many models loaded on demand.

What can change without replacing the endpoint: SageMaker models and endpoint configurations are
immutable, so a change to the image, the capture rate or the KMS key replaces them (both are
auto-named, so the replacement is created first) and the endpoint is *updated* to the new
configuration; the endpoint itself keeps its name. The variant name never changes (the scaling
target is keyed on it). The live instance count belongs to the autoscaler: the configuration's
initial count is set once and then ignored, so changing the hosted models' scaling bounds only
updates the scaling target, never the configuration or the endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.serving.hosted_model import HostedModel, RegistryTable
from infra import catalog
from infra.declarations import ModelDeclaration
from infra.declarations.tags import Ownership
from model_packages.packaging import Package

VARIANT_NAME = "primary"  # never renamed: the scaling target is keyed on it
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALE_IN_COOLDOWN_SECONDS = 300  # scale in slowly: unloading models makes the next requests cold
SCALE_OUT_COOLDOWN_SECONDS = 60


def team_prefix(team: str) -> str:
    """Everything a team's execution role may read in the artifacts bucket lives under this."""
    return f"teams/{team}/"


def endpoint_prefix(team: str, endpoint_name: str) -> str:
    """The S3 prefix (key) an endpoint loads its models from: under its team's prefix."""
    return f"{team_prefix(team)}endpoints/{endpoint_name}/"


def capture_prefix(team: str, endpoint_name: str) -> str:
    return f"capture/teams/{team}/{endpoint_name}/"


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
    models: tuple[ModelDeclaration, ...]  # in name order

    @property
    def model_summaries(self) -> list[dict]:
        """What the cost estimator splits the endpoint's price by."""
        return [
            {"name": m.name, "team": m.team, "memoryMb": m.resources.memory_mb} for m in self.models
        ]


class MultiModelEndpoint(PlatformComponent):
    TYPE = "mlplat:serving:MultiModelEndpoint"

    def __init__(
        self,
        name: str,
        *,
        plan: EndpointPlan,
        packages: Mapping[str, Package],
        environment: str,
        execution_role_arn: pulumi.Input[str],
        artifacts_bucket: pulumi.Input[str],
        capture_bucket: pulumi.Input[str],
        kms_key_arn: pulumi.Input[str],
        registry: RegistryTable | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, owner=Ownership(team=plan.team), opts=opts)
        self.plan = plan
        self.prefix = endpoint_prefix(plan.team, plan.endpoint_name)
        self.model_data_url = pulumi.Output.concat("s3://", artifacts_bucket, "/", self.prefix)
        self.model = self._create_model(execution_role_arn)
        self.config = self._create_config(capture_bucket, kms_key_arn)
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=plan.endpoint_name,
            endpoint_config_name=self.config.name,
            opts=self.child_opts(),
        )
        self.scaling_target, self.scaling_policy = self._create_scaling()
        self.hosted = [
            HostedModel(
                f"mlplat-{environment}-{model.name}",
                model=model,
                package=packages[model.name],
                environment=environment,
                endpoint_name=plan.endpoint_name,
                image=plan.image,
                artifacts_bucket=artifacts_bucket,
                key_prefix=self.prefix,
                kms_key_arn=kms_key_arn,
                registry=registry,
                opts=self.child_opts(),
            )
            for model in plan.models
        ]
        self.register_outputs(
            {
                "endpointName": self.endpoint.name,
                "variantName": VARIANT_NAME,
                "instanceType": plan.instance_type,
                "minInstances": plan.min_instances,
                "maxInstances": plan.max_instances,
                "modelDataUrl": self.model_data_url,
                "models": plan.model_summaries,
            }
        )

    def _create_model(self, execution_role_arn) -> aws.sagemaker.Model:
        return aws.sagemaker.Model(
            f"{self.name}-model",
            execution_role_arn=execution_role_arn,
            primary_container={
                "image": self.plan.image,
                "mode": "MultiModel",
                # An S3 prefix ending in "/": models are .tar.gz under it, chosen by TargetModel.
                "model_data_url": self.model_data_url,
            },
            # The container gets no network: SageMaker itself fetches the archives from S3, so
            # serving needs none, and a compromised model cannot reach anything.
            enable_network_isolation=True,
            opts=self.child_opts(),
        )

    def _create_config(self, capture_bucket, kms_key_arn) -> aws.sagemaker.EndpointConfiguration:
        capture = self.plan.data_capture_percent
        return aws.sagemaker.EndpointConfiguration(
            f"{self.name}-config",
            # Instance-store volumes are hardware-encrypted, and SageMaker refuses a key for them.
            kms_key_arn=None if catalog.has_local_storage(self.plan.instance_type) else kms_key_arn,
            production_variants=[
                {
                    "variant_name": VARIANT_NAME,
                    "model_name": self.model.name,
                    "instance_type": self.plan.instance_type,
                    "initial_instance_count": self.plan.min_instances,
                }
            ],
            data_capture_config={
                "enable_capture": capture > 0,
                # SageMaker requires a percentage in 1..100 even when capture is off.
                "initial_sampling_percentage": max(capture, 1),
                "destination_s3_uri": pulumi.Output.concat(
                    "s3://",
                    capture_bucket,
                    "/",
                    capture_prefix(self.plan.team, self.plan.endpoint_name),
                ),
                "kms_key_id": kms_key_arn,
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
            },
            # The autoscaler owns the live count; a new floor must not replace the configuration.
            opts=self.child_opts(ignore_changes=["productionVariants[0].initialInstanceCount"]),
        )

    def _create_scaling(self) -> tuple[aws.appautoscaling.Target, aws.appautoscaling.Policy]:
        resource_id = f"endpoint/{self.plan.endpoint_name}/variant/{VARIANT_NAME}"
        target = aws.appautoscaling.Target(
            f"{self.name}-scaling-target",
            service_namespace="sagemaker",
            resource_id=resource_id,
            scalable_dimension=SCALABLE_DIMENSION,
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
                **self._scaling_metric(),
                "scale_in_cooldown": SCALE_IN_COOLDOWN_SECONDS,
                "scale_out_cooldown": SCALE_OUT_COOLDOWN_SECONDS,
            },
            opts=self.child_opts(),
        )
        return target, policy

    def _scaling_metric(self) -> dict:
        # Invocations per instance on every endpoint, GPU ones included. The models on a Triton
        # endpoint run in the Python backend with numpy, on the instance's CPU (their archives'
        # instance groups are KIND_CPU): its GPUUtilization stays near 0, so a policy tracking it
        # would only ever scale in. CPUUtilization is no better target: SageMaker sums it over
        # vCPUs (0-400% on a g5.xlarge) while one backend instance uses about one core. The
        # invocation rate is the load offered wherever the model computes, and its target is
        # the one the models declare. On a multi-model endpoint it counts all models together.
        return {
            "predefined_metric_specification": {
                "predefined_metric_type": "SageMakerVariantInvocationsPerInstance"
            },
            "target_value": self.plan.target_invocations_per_instance,
        }
