"""Which multi-model endpoint hosts which model: decided from declarations alone.

Models are grouped by what SageMaker requires to share an endpoint, then split into shards that
fit the endpoint's capacity:

- the group key is (team, image, instance type): one image per endpoint (an AWS rule), one
  execution role per team (each role reads only its team's prefixes);
- a shard holds models whose memory sums to at most ``instance memory * model_memory_fraction``
  and at most ``max_models_per_endpoint`` models.

An endpoint's name is derived from its group key and shard number only
(``mlplat-<env>-<team>-<hash of team/image/instance>-<shard>``), never from a position among
groups, so adding a group never renames another group's endpoints.

Stability needs memory. No placement computed from the declarations alone can both respect
capacity and never move a model when another is added: if adding or removing models never moves
the others, each model's endpoint depends on that model alone, and then any number of models may
land on one endpoint. So placement takes the previous assignment (the placement lock,
``stacks/<env>.placement.json``, written by ``mlplat models place``): models in the lock stay on
their endpoint while it is still in their group and they still fit; new models go first-fit, in
name order, into the group's shards by shard number, and open the lowest free shard number when
none has room. Hence, relative to the lock: adding a model moves no other model, removing one
moves no other model, and no existing endpoint is renamed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from components.serving.multi_model_endpoint import EndpointPlan
from infra import catalog
from infra.declarations import EnvironmentSpec, ModelDeclaration, Problem, ServingTarget, SpecError
from infra.project import PROJECT_ROOT

ENDPOINT_NAME_MAX = 63  # SageMaker: [a-zA-Z0-9-], at most 63 characters
GROUP_HASH_LENGTH = 8


def placement_lock_path(environment: str) -> Path:
    return PROJECT_ROOT / "stacks" / f"{environment}.placement.json"


def read_placement_lock(environment: str) -> dict[str, str]:
    """The committed model -> endpoint assignment of an environment; empty when there is none."""
    path = placement_lock_path(environment)
    if not path.exists():
        return {}
    document = json.loads(path.read_text())
    return dict(document.get("endpoints", {}))


def write_placement_lock(environment: str, assignment: Mapping[str, str]) -> Path:
    path = placement_lock_path(environment)
    document = {
        "comment": "Which endpoint hosts which model; keeps placement stable. "
        "Update with `mlplat models place --stack " + environment + "`.",
        "endpoints": dict(sorted(assignment.items())),
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


@dataclass(frozen=True, order=True)
class GroupKey:
    team: str
    image: str
    instance_type: str

    def endpoint_prefix(self, environment: str) -> str:
        digest = hashlib.sha256(
            f"{self.team}\n{self.image}\n{self.instance_type}".encode()
        ).hexdigest()
        # Leave room for "-<shard>" (up to three digits) within SageMaker's 63 characters.
        head = f"mlplat-{environment}-{self.team}"[: ENDPOINT_NAME_MAX - GROUP_HASH_LENGTH - 5]
        return f"{head.rstrip('-')}-{digest[:GROUP_HASH_LENGTH]}"

    def endpoint_name(self, environment: str, shard: int) -> str:
        return f"{self.endpoint_prefix(environment)}-{shard}"


@dataclass(frozen=True)
class Capacity:
    memory_mb: int
    max_models: int


@dataclass(frozen=True)
class Item:
    """What placement needs to know of a model."""

    name: str
    group: GroupKey
    memory_mb: int


@dataclass
class _Shard:
    number: int
    items: list[Item] = field(default_factory=list)

    def fits(self, item: Item, capacity: Capacity) -> bool:
        used = sum(existing.memory_mb for existing in self.items)
        return len(self.items) < capacity.max_models and used + item.memory_mb <= capacity.memory_mb


def assign(
    items: Iterable[Item],
    capacity_of: Mapping[GroupKey, Capacity],
    environment: str,
    previous: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Model name -> endpoint name. Pure: the same items and lock give the same answer."""
    previous = previous or {}
    by_group: dict[GroupKey, list[Item]] = {}
    for item in sorted(items, key=lambda i: i.name):
        by_group.setdefault(item.group, []).append(item)
    assignment: dict[str, str] = {}
    for group, members in sorted(by_group.items()):
        assignment |= _assign_group(group, members, capacity_of[group], environment, previous)
    return assignment


def _assign_group(
    group: GroupKey,
    members: list[Item],
    capacity: Capacity,
    environment: str,
    previous: Mapping[str, str],
) -> dict[str, str]:
    for item in members:
        if item.memory_mb > capacity.memory_mb:  # validation refuses it first (rules.py)
            raise SpecError(
                [
                    Problem(
                        "resources.memory_mb",
                        f"needs {item.memory_mb} MB; an endpoint on {group.instance_type} "
                        f"offers {capacity.memory_mb} MB to models",
                        subject=f"model {item.name!r}",
                        field="resources.memory_mb",
                    )
                ]
            )
    shards: dict[int, _Shard] = {}
    newcomers: list[Item] = []
    prefix = group.endpoint_prefix(environment) + "-"
    for item in members:  # name order
        shard = _locked_shard(previous.get(item.name), prefix)
        if shard is not None:
            current = shards.setdefault(shard, _Shard(shard))
            if current.fits(item, capacity):
                current.items.append(item)
                continue
        newcomers.append(item)  # new, moved to another group, or grown beyond its shard
    for item in newcomers:
        target = next((s for _, s in sorted(shards.items()) if s.fits(item, capacity)), None)
        if target is None:
            number = next(n for n in range(len(shards) + 1) if n not in shards)
            target = shards[number] = _Shard(number)
        target.items.append(item)
    return {
        item.name: group.endpoint_name(environment, number)
        for number, shard in shards.items()
        for item in shard.items
    }


def _locked_shard(endpoint: str | None, prefix: str) -> int | None:
    if endpoint is None or not endpoint.startswith(prefix):
        return None
    suffix = endpoint.removeprefix(prefix)
    return int(suffix) if suffix.isdigit() else None


# --- from declarations ----------------------------------------------------------------------


def serving_image(model: ModelDeclaration, spec: EnvironmentSpec) -> str:
    """The container a model's endpoint runs. GPU multi-model endpoints can only run Triton."""
    if model.image:
        return model.image
    region, instance = spec.settings.region, model.effective_instance_type
    if model.uses_gpu:
        return catalog.serving_image(
            catalog.TRITON_FRAMEWORK, spec.settings.serving.triton_version, region, instance
        )
    return catalog.serving_image(model.framework, model.framework_version, region, instance)


def group_key(model: ModelDeclaration, spec: EnvironmentSpec) -> GroupKey:
    return GroupKey(model.team, serving_image(model, spec), model.effective_instance_type)


def endpoint_capacity(instance_type: str, spec: EnvironmentSpec) -> Capacity:
    serving = spec.settings.serving
    instance = catalog.SAGEMAKER_INSTANCE_TYPES[instance_type]
    memory = int(Decimal(instance.memory_mb) * serving.model_memory_fraction)
    return Capacity(memory_mb=memory, max_models=serving.max_models_per_endpoint)


def place_models(
    spec: EnvironmentSpec, previous: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Model name -> endpoint name for the spec's SageMaker models, relative to ``previous``."""
    models = spec.models_served_by(ServingTarget.SAGEMAKER_MME)
    items = [Item(m.name, group_key(m, spec), m.resources.memory_mb) for m in models]
    capacities = {item.group: endpoint_capacity(item.group.instance_type, spec) for item in items}
    return assign(items, capacities, spec.name.value, previous)


def plan_endpoints(
    spec: EnvironmentSpec, previous: Mapping[str, str] | None = None
) -> list[EndpointPlan]:
    """One plan per endpoint, with bounds and capture rate derived from the models it hosts."""
    if previous is None:
        previous = read_placement_lock(spec.name.value)
    assignment = place_models(spec, previous)
    hosted: dict[str, list[ModelDeclaration]] = {}
    for model in spec.models_served_by(ServingTarget.SAGEMAKER_MME):
        hosted.setdefault(assignment[model.name], []).append(model)
    return [_plan(name, models, spec) for name, models in sorted(hosted.items())]


def _plan(
    endpoint_name: str, models: list[ModelDeclaration], spec: EnvironmentSpec
) -> EndpointPlan:
    models = sorted(models, key=lambda m: m.name)
    key = group_key(models[0], spec)
    return EndpointPlan(
        endpoint_name=endpoint_name,
        team=key.team,
        image=key.image,
        instance_type=key.instance_type,
        uses_gpu=any(model.uses_gpu for model in models),
        # The endpoint must serve its most demanding model: the largest floor and ceiling.
        min_instances=max(model.scaling.min_instances for model in models),
        max_instances=max(model.scaling.max_instances for model in models),
        target_invocations_per_instance=min(
            model.scaling.target_invocations_per_instance for model in models
        ),
        data_capture_percent=max(model.data_capture_percent for model in models),
        models=tuple(models),
    )
