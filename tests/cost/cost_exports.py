"""Hand-built `pulumi stack export` (version 3) documents for the cost tests."""

from __future__ import annotations

from typing import Any

PROJECT = "mlplat"


def urn(type_: str, name: str, stack: str = "dev") -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


def provider(name: str = "default_7_0_0", region: str | None = "us-east-1", stack: str = "dev"):
    inputs = {"region": region} if region else {}
    return {
        "urn": urn("pulumi:providers:aws", name, stack),
        "custom": True,
        "id": f"{name}-id",
        "type": "pulumi:providers:aws",
        "inputs": inputs,
        "outputs": dict(inputs),
    }


def provider_ref(entry: dict[str, Any]) -> str:
    return f"{entry['urn']}::{entry['id']}"


def resource(
    type_: str,
    name: str,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    *,
    stack: str = "dev",
    parent: str | None = None,
    dependencies: list[str] | None = None,
    provider_entry: dict[str, Any] | None = None,
    custom: bool = True,
) -> dict[str, Any]:
    entry = {
        "urn": urn(type_, name, stack),
        "custom": custom,
        "type": type_,
        "inputs": inputs or {},
        "outputs": outputs or {},
        "parent": parent or urn("pulumi:pulumi:Stack", f"{PROJECT}-{stack}", stack),
        "dependencies": dependencies or [],
        "propertyDependencies": {},
        "protect": False,
    }
    if custom:
        entry["id"] = f"{name}-id"
        entry["provider"] = provider_ref(provider_entry or provider(stack=stack))
    return entry


def export(*resources: dict[str, Any], stack: str = "dev", region: str | None = "us-east-1"):
    stack_resource = {
        "urn": urn("pulumi:pulumi:Stack", f"{PROJECT}-{stack}", stack),
        "custom": False,
        "type": "pulumi:pulumi:Stack",
    }
    return {
        "version": 3,
        "deployment": {
            "manifest": {"time": "2026-11-28T00:00:00Z", "magic": "", "version": "v3"},
            "resources": [stack_resource, provider(region=region, stack=stack), *resources],
        },
    }


def tags(environment: str = "dev", team: str | None = None, model: str | None = None):
    values = {"mlplat:environment": environment}
    if team:
        values["mlplat:team"] = team
    if model:
        values["mlplat:model"] = model
    return values


def multi_model_endpoint(
    name: str,
    instance_type: str,
    models: list[dict[str, Any]],
    *,
    initial: int = 1,
    min_capacity: int | None = None,
    max_capacity: int | None = None,
    variant: str = "AllTraffic",
    stack: str = "dev",
) -> list[dict[str, Any]]:
    """The resources of one shared endpoint as the serving component registers them."""
    component_urn = urn("mlplat:serving:MultiModelEndpoint", name, stack)
    endpoint_name = f"{name}-endpoint-0a1b2c3"
    config_name = f"{name}-config-4d5e6f7"
    component = resource(
        "mlplat:serving:MultiModelEndpoint",
        name,
        outputs={"endpointName": endpoint_name, "models": models},
        custom=False,
        stack=stack,
    )
    config = resource(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        f"{name}-config",
        inputs={
            "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd",
            "productionVariants": [
                {
                    "variantName": variant,
                    "instanceType": instance_type,
                    "initialInstanceCount": initial,
                    "modelName": f"{name}-model",
                }
            ],
            "tags": tags(stack),
        },
        outputs={"name": config_name},
        parent=component_urn,
        stack=stack,
    )
    endpoint = resource(
        "aws:sagemaker/endpoint:Endpoint",
        f"{name}-endpoint",
        inputs={"endpointConfigName": config_name, "tags": tags()},
        outputs={"name": endpoint_name},
        parent=component_urn,
        stack=stack,
        dependencies=[config["urn"]],
    )
    entries = [component, config, endpoint]
    if min_capacity is not None:
        entries.append(
            resource(
                "aws:appautoscaling/target:Target",
                f"{name}-scaling",
                inputs={
                    "minCapacity": min_capacity,
                    "maxCapacity": max_capacity,
                    "resourceId": f"endpoint/{endpoint_name}/variant/{variant}",
                    "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
                    "serviceNamespace": "sagemaker",
                },
                parent=component_urn,
                stack=stack,
            )
        )
    return entries


def budget(name: str, limit: str, team: str | None = None, stack: str = "dev"):
    filters = [{"name": "TagKeyValue", "values": [f"user:mlplat:team${team}"]}] if team else []
    return resource(
        "aws:budgets/budget:Budget",
        name,
        inputs={
            "budgetType": "COST",
            "limitAmount": limit,
            "limitUnit": "USD",
            "timeUnit": "MONTHLY",
            "costFilters": filters,
            "tags": tags(stack, team),
        },
        stack=stack,
    )


def model_budget(model: str, team: str, limit: float, stack: str = "dev"):
    """A model's component as the serving components register it: its declared budget."""
    return resource(
        "mlplat:serving:HostedModel",
        f"mlplat-{stack}-{model}",
        outputs={"model": model, "team": team, "monthlyBudgetUsd": limit},
        custom=False,
        stack=stack,
    )


def spot_group(**overrides):
    """A spot node group: m5.large, m5a.large, m6i.large; 2 nodes desired, 1 to 5."""
    inputs = {
        "capacityType": "SPOT",
        "instanceTypes": ["m5.large", "m5a.large", "m6i.large"],
        "scalingConfig": {"desiredSize": 2, "minSize": 1, "maxSize": 5},
        "tags": tags(),
    }
    return resource("eks:index:ManagedNodeGroup", "spot", {**inputs, **overrides}, custom=False)
