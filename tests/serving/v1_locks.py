"""Version 1 placement locks, as a v1 writer could have written them, for the migration tests."""

from __future__ import annotations

from components.serving.placement import PlacementLock, _legacy_key
from infra.declarations import ServingTarget


def v1_models(spec, lock: PlacementLock) -> dict[str, str]:
    """The part of ``lock`` a v1 writer could have written: its models on endpoints named the v1
    way (after the group and the instance type). Endpoints opened since are named after the
    group alone, and no v1 file names them: a v1 lock made of those too is not a real one (such
    a lock once made the migration look like it moved a model)."""
    models = {m.name: m for m in spec.models_served_by(ServingTarget.SAGEMAKER_MME)}
    return {
        name: endpoint
        for name, endpoint in lock.models.items()
        if _legacy_key(models[name], spec, lock.endpoints[endpoint].instance_type).shard_of(
            endpoint, spec.name.value
        )
        is not None
    }
