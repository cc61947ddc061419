"""Which multi-model endpoint hosts which model: decided from plain declarations, before any resource."""

from __future__ import annotations

from collections import defaultdict

from components.serving.multi_model_endpoint import EndpointPlan
from infra import catalog
from infra.declarations import EnvironmentSpec, ModelDeclaration, ServingTarget


def serving_image(model: ModelDeclaration, spec: EnvironmentSpec) -> str:
    """The container a model's endpoint runs. GPU multi-model endpoints can only run Triton."""
    if model.image:
        return model.image
    region, instance = spec.settings.region, model.effective_instance_type
    if model.uses_gpu:
        return catalog.serving_image(catalog.TRITON_FRAMEWORK, spec.settings.serving.triton_version, region, instance)
    return catalog.serving_image(model.framework, model.framework_version, region, instance)


def plan_endpoints(spec: EnvironmentSpec) -> list[EndpointPlan]:
    """Group a team's models by image and instance type; one endpoint per group."""
    groups: dict[tuple[str, str, str], list[ModelDeclaration]] = defaultdict(list)
    for model in spec.models_served_by(ServingTarget.SAGEMAKER_MME):
        groups[(model.team, serving_image(model, spec), model.effective_instance_type)].append(model)
    plans = []
    for index, ((team, image, instance_type), models) in enumerate(sorted(groups.items())):
        plans.append(
            EndpointPlan(
                endpoint_name=f"mlplat-{spec.name}-{team}-{index}",
                team=team,
                image=image,
                instance_type=instance_type,
                uses_gpu=any(model.uses_gpu for model in models),
                min_instances=max(model.scaling.min_instances for model in models),
                max_instances=max(model.scaling.max_instances for model in models),
                target_invocations_per_instance=min(
                    model.scaling.target_invocations_per_instance for model in models
                ),
                data_capture_percent=max(model.data_capture_percent for model in models),
                models=tuple(
                    {"name": model.name, "team": model.team, "memoryMb": model.resources.memory_mb}
                    for model in sorted(models, key=lambda m: m.name)
                ),
            )
        )
    return plans
