"""Which multi-model endpoint hosts which model, on which instance type: decided from declarations,
the placement lock and the price snapshot.

What may share an endpoint: models of one team (each team's endpoints run as its own role, which
reads only its prefix) and one serving image (an AWS rule), on one kind of instance (CPU, or GPU
for Triton). An endpoint's name comes from that group and a shard number
(``mlplat-<env>-<team>-<hash of team/image/kind>-<shard>``); endpoints opened before cost-aware
placement keep their names, whose hash covered the instance type instead of the kind.

The instance type is chosen, not declared: a group's new endpoints are packed by
``packing.pack`` onto the type that minimises the monthly cost at minimum scale among the types
each model allows (its kind, its declared minimum or exact type: ``instance_choice.py``).

Stability needs memory. No placement computed from declarations alone can both pack well and
never move a model when another is added, so placement starts from the lock
(``stacks/<env>.placement.json``, written by ``mlplat models place``), which records each model's
endpoint and each endpoint's instance type and settings (``placement_lock.py``). Relative to it:

- a model stays on its endpoint while it is still in the endpoint's group, its type is still
  allowed, the endpoint's settings still satisfy it, and it still fits (in name order);
- an endpoint's type and settings never change while it hosts another model, so adding,
  removing or changing one model never touches another's endpoint configuration or scaling; an
  endpoint the lock gives to the changed model alone takes its settings when it asks for more;
- models that stay nowhere (new, changed past their endpoint, grown) join the fullest endpoint
  of their group whose type and settings suit them and that has room, else go to new endpoints
  packed for them, numbered after every shard the lock knows.

Re-optimising, which moves models, is only ever explicit: ``rebalance.py`` (``mlplat models
place --rebalance``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from components.serving.multi_model_endpoint import EndpointPlan
from components.serving.packing import Offer, Piece, Unplaceable, pack
from components.serving.placement_lock import (
    EndpointRecord,
    EndpointSettings,
    PlacementLock,
    placement_lock_path,
    read_placement_lock,
    write_placement_lock,
)
from infra import catalog
from infra.declarations import EnvironmentSpec, ModelDeclaration, Problem, ServingTarget, SpecError
from infra.declarations.instance_choice import (
    allowed_instance_types,
    models_share_mb,
    needs_gpu_instance,
)

# Re-exported: the lock's readers and writers go through placement.
__all__ = [
    "EndpointRecord",
    "EndpointSettings",
    "PlacementLock",
    "placement_lock_path",
    "read_placement_lock",
    "write_placement_lock",
]

ENDPOINT_NAME_MAX = 63  # SageMaker: [a-zA-Z0-9-], at most 63 characters
GROUP_HASH_LENGTH = 8
HOURS_PER_MONTH = 730  # as AWS's calculator and the cost estimator


@dataclass(frozen=True, order=True)
class GroupKey:
    """What models sharing an endpoint have in common. ``kind`` is "cpu" or "gpu"; in the names
    of endpoints opened before cost-aware placement it was the instance type."""

    team: str
    image: str
    kind: str

    def endpoint_prefix(self, environment: str) -> str:
        digest = hashlib.sha256(f"{self.team}\n{self.image}\n{self.kind}".encode()).hexdigest()
        # Leave room for "-<shard>" (up to three digits) within SageMaker's 63 characters.
        head = f"mlplat-{environment}-{self.team}"[: ENDPOINT_NAME_MAX - GROUP_HASH_LENGTH - 5]
        return f"{head.rstrip('-')}-{digest[:GROUP_HASH_LENGTH]}"

    def endpoint_name(self, environment: str, shard: int) -> str:
        return f"{self.endpoint_prefix(environment)}-{shard}"

    def shard_of(self, endpoint: str, environment: str) -> int | None:
        """The shard number when ``endpoint`` is one of this group's, else None."""
        suffix = endpoint.removeprefix(self.endpoint_prefix(environment) + "-")
        return int(suffix) if suffix != endpoint and suffix.isdigit() else None


# --- from declarations ----------------------------------------------------------------------


def serving_image(
    model: ModelDeclaration, spec: EnvironmentSpec, instance_type: str | None = None
) -> str:
    """The container a model's endpoint runs. GPU multi-model endpoints can only run Triton.
    image_uris picks one image per kind (cpu or gpu) whatever the type of that kind."""
    if model.image:
        return model.image
    region = spec.settings.region
    instance = instance_type or model.effective_instance_type
    if model.uses_gpu:
        return catalog.serving_image(
            catalog.TRITON_FRAMEWORK, spec.settings.serving.triton_version, region, instance
        )
    return catalog.serving_image(model.framework, model.framework_version, region, instance)


def group_key(model: ModelDeclaration, spec: EnvironmentSpec) -> GroupKey:
    kind = "gpu" if needs_gpu_instance(model) else "cpu"
    return GroupKey(model.team, serving_image(model, spec), kind)


def _legacy_key(model: ModelDeclaration, spec: EnvironmentSpec, instance_type: str) -> GroupKey:
    return GroupKey(model.team, serving_image(model, spec, instance_type), instance_type)


def offers(spec: EnvironmentSpec) -> dict[str, Offer]:
    """Every catalog type with its capacity for models and its price (unpriced: infinite, so
    only a model that insists on it exactly gets it)."""
    prices = catalog.hosting_prices(spec.settings.region)
    fraction = spec.settings.serving.model_memory_fraction
    return {
        name: Offer(name, models_share_mb(instance, fraction), prices.get(name, math.inf))
        for name, instance in catalog.SAGEMAKER_INSTANCE_TYPES.items()
    }


def monthly_cost(lock: PlacementLock, spec: EnvironmentSpec) -> float:
    """The endpoints' cost per month at minimum scale (list prices; unpriced types count 0)."""
    prices = catalog.hosting_prices(spec.settings.region)
    return sum(
        prices.get(record.instance_type, 0.0) * HOURS_PER_MONTH * record.settings.min_instances
        for record in lock.endpoints.values()
    )


# --- placement relative to the lock -----------------------------------------------------------


@dataclass
class _Endpoint:
    name: str
    record: EndpointRecord
    models: list[ModelDeclaration] = field(default_factory=list)

    def used_mb(self) -> int:
        return sum(model.resources.memory_mb for model in self.models)


class Placer:
    def __init__(self, spec: EnvironmentSpec) -> None:
        self.spec = spec
        self.environment = spec.name.value
        self.offers = offers(spec)
        self.max_models = spec.settings.serving.max_models_per_endpoint
        self.models = sorted(spec.models_served_by(ServingTarget.SAGEMAKER_MME), key=_name)
        self.allowed = {
            m.name: frozenset(t.name for t in allowed_instance_types(m, spec.settings.region))
            for m in self.models
        }

    def in_group(self, model: ModelDeclaration, endpoint: str, instance_type: str) -> bool:
        """Whether ``endpoint`` (on ``instance_type``) is one of the model's group's, under the
        names placement gives now or gave before it chose types."""
        instance = catalog.SAGEMAKER_INSTANCE_TYPES[instance_type]
        if instance.has_gpu is not needs_gpu_instance(model):
            return False
        if group_key(model, self.spec).shard_of(endpoint, self.environment) is not None:
            return True
        legacy = _legacy_key(model, self.spec, instance_type)
        return legacy.shard_of(endpoint, self.environment) is not None

    def suits(self, model: ModelDeclaration, endpoint: _Endpoint) -> bool:
        record = endpoint.record
        return (
            self.in_group(model, endpoint.name, record.instance_type)
            and record.instance_type in self.allowed[model.name]
            and record.settings.satisfies(model)
            and len(endpoint.models) < self.max_models
            and endpoint.used_mb() + model.resources.memory_mb
            <= self.offers[record.instance_type].capacity_mb
        )

    def legacy_record(self, endpoint: str, names: set[str]) -> EndpointRecord | None:
        """A v1 lock's endpoint as the code that wrote it deployed it: the hosted models'
        instance type, and the most any of them declared."""
        hosted = [
            m
            for m in self.models
            if m.name in names
            and _legacy_key(m, self.spec, m.effective_instance_type).shard_of(
                endpoint, self.environment
            )
            is not None
        ]
        if not hosted:
            return None
        return EndpointRecord(hosted[0].effective_instance_type, EndpointSettings.serving(hosted))

    def keep(self, lock: PlacementLock) -> tuple[dict[str, _Endpoint], list[ModelDeclaration]]:
        """The locked models that stay, by endpoint, and the models left to place."""
        locked_sets = lock.hosted()
        records = dict(lock.endpoints)
        for endpoint, names in locked_sets.items():
            if endpoint not in records:
                record = self.legacy_record(endpoint, names)
                if record is not None:
                    records[endpoint] = record
        kept: dict[str, _Endpoint] = {}
        newcomers: list[ModelDeclaration] = []
        grown: list[ModelDeclaration] = []
        for model in self.models:  # name order
            name = lock.models.get(model.name)
            record = records.get(name or "")
            if name is None or record is None:
                newcomers.append(model)
                continue
            if locked_sets[name] == {model.name} and not record.settings.satisfies(model):
                # Its own endpoint asks too little of it: the endpoint follows the model (only
                # upwards; an endpoint that gives more than asked waits for `--rebalance`).
                record = EndpointRecord(record.instance_type, EndpointSettings.of(model))
            kept.setdefault(name, _Endpoint(name, record))
            if model.resources.memory_mb > lock.memory_mb.get(
                model.name, model.resources.memory_mb
            ):
                grown.append(model)  # placed after the others: if one must leave, it is this
                continue
            self._stay_or_leave(model, kept[name], newcomers)
        for model in grown:
            self._stay_or_leave(model, kept[lock.models[model.name]], newcomers)
        return {n: e for n, e in kept.items() if e.models}, newcomers

    def _stay_or_leave(self, model, endpoint: _Endpoint, newcomers: list) -> None:
        if self.suits(model, endpoint):
            endpoint.models.append(model)
        else:
            newcomers.append(model)  # changed, moved group, grown: it alone moves

    def join(self, endpoints: dict[str, _Endpoint], newcomers: list[ModelDeclaration]):
        """Newcomers into the fullest suitable endpoint; those that fit nowhere are returned."""
        left = []
        for model in sorted(newcomers, key=lambda m: (-m.resources.memory_mb, m.name)):
            suitable = [e for e in endpoints.values() if self.suits(model, e)]
            if suitable:
                max(suitable, key=lambda e: (e.used_mb(), e.name)).models.append(model)
            else:
                left.append(model)
        return left

    def open(self, models: list[ModelDeclaration], taken: set[str]) -> list[_Endpoint]:
        """New endpoints for ``models``, packed at least cost, named after every taken shard."""
        groups: dict[GroupKey, list[ModelDeclaration]] = {}
        for model in models:
            groups.setdefault(group_key(model, self.spec), []).append(model)
        opened = []
        for group, members in sorted(groups.items()):
            by_name = {m.name: m for m in members}
            pieces = [
                Piece(m.name, m.resources.memory_mb, self.allowed[m.name], m.scaling.min_instances)
                for m in members
            ]
            try:
                bins = pack(pieces, self.offers, self.max_models)
            except Unplaceable as error:  # validation refuses it first (instance_choice.py)
                raise _too_large(by_name[error.piece.name]) from None
            for each in bins:
                name = self.next_name(group, taken)
                taken.add(name)
                hosted = [by_name[p.name] for p in each.pieces]
                record = EndpointRecord(each.instance_type, EndpointSettings.serving(hosted))
                opened.append(_Endpoint(name, record, sorted(hosted, key=_name)))
        return opened

    def next_name(self, group: GroupKey, taken: set[str]) -> str:
        used = {group.shard_of(name, self.environment) for name in taken} - {None}
        return group.endpoint_name(
            self.environment, next(n for n in range(len(used) + 1) if n not in used)
        )


def _name(model: ModelDeclaration) -> str:
    return model.name


def _too_large(model: ModelDeclaration) -> SpecError:
    return SpecError(
        [
            Problem(
                "resources.memory_mb",
                f"needs {model.resources.memory_mb} MB; no instance type it may run on leaves "
                "that much to models",
                subject=f"model {model.name!r}",
                field="resources.memory_mb",
            )
        ]
    )


def as_lock(endpoints: Iterable[_Endpoint]) -> PlacementLock:
    endpoints = [e for e in endpoints if e.models]
    return PlacementLock(
        models={m.name: e.name for e in endpoints for m in e.models},
        endpoints={e.name: e.record for e in endpoints},
        memory_mb={m.name: m.resources.memory_mb for e in endpoints for m in e.models},
    )


def place(spec: EnvironmentSpec, lock: PlacementLock) -> PlacementLock:
    """The lock after this spec: pure, the same spec and lock give the same answer. (A version-1
    lock is a ``PlacementLock`` too: ``parse_lock`` reads both.)"""
    placer = Placer(spec)
    kept, newcomers = placer.keep(lock)
    left = placer.join(kept, newcomers)
    taken = set(lock.hosted()) | set(lock.endpoints) | set(kept)
    return as_lock([*kept.values(), *placer.open(left, taken)])


# --- endpoint plans ---------------------------------------------------------------------------


def plan_endpoints(
    spec: EnvironmentSpec, previous: PlacementLock | None = None
) -> list[EndpointPlan]:
    """One plan per endpoint: its recorded type and settings, the models it hosts."""
    lock = place(spec, read_placement_lock(spec.name.value) if previous is None else previous)
    hosted: dict[str, list[ModelDeclaration]] = {}
    for model in spec.models_served_by(ServingTarget.SAGEMAKER_MME):
        hosted.setdefault(lock.models[model.name], []).append(model)
    return [
        _plan(name, lock.endpoints[name], models, spec) for name, models in sorted(hosted.items())
    ]


def _plan(
    endpoint_name: str,
    record: EndpointRecord,
    models: list[ModelDeclaration],
    spec: EnvironmentSpec,
) -> EndpointPlan:
    models = sorted(models, key=_name)
    settings = record.settings
    return EndpointPlan(
        endpoint_name=endpoint_name,
        team=models[0].team,
        image=serving_image(models[0], spec, record.instance_type),
        instance_type=record.instance_type,
        uses_gpu=any(model.uses_gpu for model in models),
        min_instances=settings.min_instances,
        max_instances=settings.max_instances,
        target_invocations_per_instance=settings.target_invocations_per_instance,
        data_capture_percent=settings.data_capture_percent,
        models=tuple(models),
    )
