"""The archives an environment's multi-model endpoints load: one per hosted model."""

from __future__ import annotations

from components.serving.multi_model_endpoint import EndpointPlan
from infra import catalog
from model_packages.packaging import Layout, Package, package_model


def layout_for(plan: EndpointPlan) -> Layout:
    """Triton loads a model repository entry; framework containers load the model directory."""
    return Layout.TRITON if catalog.TRITON_FRAMEWORK in plan.image else Layout.FRAMEWORK


def package_hosted_models(plans: list[EndpointPlan]) -> dict[str, Package]:
    """Model name -> its archive (built once, then reused from the cache while unchanged)."""
    return {
        model.name: package_model(
            model.name, model.version, model.artifact, layout=layout_for(plan)
        )
        for plan in plans
        for model in plan.models
    }
