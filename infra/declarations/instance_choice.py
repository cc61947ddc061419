"""What a model's declared ``instance_type`` means to placement: a minimum size, or an exact type.

Placement chooses each endpoint's instance type by price (``components/serving/placement.py``).
A declared type constrains that choice instead of fixing it:

- ``instance_type_mode="minimum"`` (the default): any type placement may choose that is at least
  as large as the declared one in memory, vCPUs, GPUs and GPU memory;
- ``instance_type_mode="exact"``: only the declared type (for a model tuned to one instance, or a
  type placement never chooses itself, such as a burstable ``ml.t2``).

Without a declared type a model may run on any type of its kind (CPU, or GPU when it needs one).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import Field

from infra import catalog
from infra.declarations.errors import Problem

if TYPE_CHECKING:
    from infra.declarations.environment import ServingSettings
    from infra.declarations.model import ModelDeclaration


class InstanceTypeMode(StrEnum):
    MINIMUM = "minimum"
    EXACT = "exact"


INSTANCE_TYPE_MODE_FIELD = Field(
    default=InstanceTypeMode.MINIMUM,
    description="How instance_type binds placement: 'minimum' (a lower bound on size; placement "
    "picks the cheapest type that fits) or 'exact' (only that type).",
)


def needs_gpu_instance(model: ModelDeclaration) -> bool:
    declared = catalog.SAGEMAKER_INSTANCE_TYPES.get(model.instance_type or "")
    return model.uses_gpu or bool(declared and declared.has_gpu)


def allowed_instance_types(
    model: ModelDeclaration, region: str
) -> tuple[catalog.InstanceType, ...]:
    """The types an endpoint hosting ``model`` may run on (before memory is considered)."""
    declared = catalog.SAGEMAKER_INSTANCE_TYPES.get(model.instance_type or "")
    if model.instance_type_mode is InstanceTypeMode.EXACT:
        return (declared,) if declared else ()
    offered = catalog.mme_instance_types(region, gpu=needs_gpu_instance(model))
    if declared is None:
        return offered
    # The declared type meets its own minimum, offered or not (the pack judges whether it is
    # approved, as for an exact type).
    larger = tuple(t for t in offered if catalog.satisfies(t, declared) and t != declared)
    return tuple(sorted((*larger, declared), key=lambda t: t.name))


def models_share_mb(instance: catalog.InstanceType, fraction: Decimal) -> int:
    """The memory an endpoint on ``instance`` leaves to its models (the rest is the server's)."""
    return int(Decimal(instance.memory_mb) * fraction)


def share_problem(
    model: ModelDeclaration,
    path: str,
    instance: catalog.InstanceType,
    fraction: Decimal,
    where: str,
    remedy: str,
) -> Iterator[Problem]:
    """A model larger than the share of ``instance``'s memory that placement packs models into
    (the rest is the server's): it fits no endpoint there."""
    share = models_share_mb(instance, fraction)
    if model.resources.memory_mb > share:
        yield Problem(
            f"{path}.resources.memory_mb",
            f"{model.resources.memory_mb} MB is more than the {share} MB {where} leaves to models "
            f"(serving.modelMemoryFraction {fraction} of {instance.memory_mb} MB): {remedy}",
        )


def instance_choice_problems(
    model: ModelDeclaration, path: str, serving: ServingSettings | None, region: str | None
) -> Iterator[Problem]:
    """A mode that cannot apply, or a model no allowed type can hold. (An exact type's own limits
    are the instance checks in ``rules.py``.)"""
    field = f"{path}.instance_type_mode"
    exact = model.instance_type_mode is InstanceTypeMode.EXACT
    if model.serving.value != "sagemaker-mme":
        if exact:
            yield Problem(field, "applies only to sagemaker-mme models")
        return
    if exact and model.instance_type is None:
        yield Problem(field, "'exact' needs instance_type: the type the endpoint must run on")
    if not exact:
        if (
            region is None
            or serving is None
            or model.instance_type
            not in (
                None,
                *catalog.SAGEMAKER_INSTANCE_TYPES,
            )
        ):
            return
        allowed = allowed_instance_types(model, region)
        if not allowed:
            yield Problem(
                f"{path}.instance_type",
                f"placement offers no {'GPU' if needs_gpu_instance(model) else 'CPU'} type in "
                f"{region}: declare instance_type",
            )
            return
        fraction = serving.model_memory_fraction
        largest = max(allowed, key=lambda t: (models_share_mb(t, fraction), t.name))
        yield from share_problem(
            model,
            path,
            largest,
            fraction,
            f"the largest type placement may choose ({largest.name})",
            "lower memory_mb, or declare a larger instance_type with instance_type_mode='exact'",
        )
