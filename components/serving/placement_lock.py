"""The placement lock, ``stacks/<env>.placement.json``: which endpoint hosts which model, and what
each endpoint is (instance type, scaling bounds, capture rate), fixed when it was opened.

Version 2 (written since cost-aware placement):

    {"comment": ..., "version": 2,
     "models": {"<model>": {"endpoint": "<endpoint>", "memoryMb": <memory when placed>}, ...},
     "endpoints": {"<endpoint>": {"instanceType": ..., "minInstances": ..., "maxInstances": ...,
                                  "targetInvocationsPerInstance": ..., "dataCapturePercent": ...}}}

one line per model and per endpoint, so every change is a one-line diff in review. The memory a
model had when placed says which model grew when an endpoint no longer holds them all: that one
moves, not a neighbour that sorts after it.

Version 1 (``{"endpoints": {"<model>": "<endpoint>"}}``) still loads: its endpoints carry no
record, and placement derives each from the models the lock puts there exactly as the code that
wrote it deployed them, so migrating (``mlplat models place``) moves and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import catalog
from infra.declarations import ModelDeclaration, Problem, SpecError
from infra.project import PROJECT_ROOT

LOCK_VERSION = 2


@dataclass(frozen=True, order=True)
class EndpointSettings:
    """What an endpoint does for every model it hosts. Scaling and capture are per endpoint on a
    multi-model endpoint (one variant, one capture configuration), so they are chosen when the
    endpoint is opened and then stay: a model joins only an endpoint whose settings satisfy it."""

    min_instances: int
    max_instances: int
    target_invocations_per_instance: int
    data_capture_percent: int

    @classmethod
    def of(cls, model: ModelDeclaration) -> EndpointSettings:
        return cls(
            model.scaling.min_instances,
            model.scaling.max_instances,
            model.scaling.target_invocations_per_instance,
            model.data_capture_percent,
        )

    @classmethod
    def serving(cls, models: Iterable[ModelDeclaration]) -> EndpointSettings:
        """The least an endpoint must do to satisfy every one of ``models``."""
        each = [cls.of(model) for model in models]
        return cls(
            max(s.min_instances for s in each),
            max(s.max_instances for s in each),
            min(s.target_invocations_per_instance for s in each),
            max(s.data_capture_percent for s in each),
        )

    def satisfies(self, model: ModelDeclaration) -> bool:
        """At least the model's floor, ceiling and capture rate, at most its invocation target.
        (A model captured above its rate is sampled down to it by its InferenceId where the
        captures are read: ``lifecycle.attribution.kept_by_sampling``.)"""
        wants = EndpointSettings.of(model)
        return (
            self.min_instances >= wants.min_instances
            and self.max_instances >= wants.max_instances
            and self.target_invocations_per_instance <= wants.target_invocations_per_instance
            and self.data_capture_percent >= wants.data_capture_percent
        )


@dataclass(frozen=True)
class EndpointRecord:
    instance_type: str
    settings: EndpointSettings


@dataclass(frozen=True)
class PlacementLock:
    models: Mapping[str, str] = field(default_factory=dict)  # model -> endpoint
    endpoints: Mapping[str, EndpointRecord] = field(default_factory=dict)  # v1: empty
    memory_mb: Mapping[str, int] = field(default_factory=dict)  # model -> as placed; v1: empty

    def hosted(self) -> dict[str, set[str]]:
        """Endpoint -> the models the lock places on it."""
        by_endpoint: dict[str, set[str]] = {}
        for model, endpoint in self.models.items():
            by_endpoint.setdefault(endpoint, set()).add(model)
        return by_endpoint


def placement_lock_path(environment: str) -> Path:
    return PROJECT_ROOT / "stacks" / f"{environment}.placement.json"


def read_placement_lock(environment: str) -> PlacementLock:
    """The committed lock of an environment (either version); empty when there is none."""
    path = placement_lock_path(environment)
    if not path.exists():
        return PlacementLock()
    source = f"stacks/{path.name}"
    try:
        return parse_lock(json.loads(path.read_text()))
    except json.JSONDecodeError as error:
        raise SpecError([Problem(path.name, f"is not JSON: {error}")], source=source) from None
    except SpecError as error:
        raise SpecError(error.problems, source=source) from None


_KEYS = {
    "min_instances": "minInstances",
    "max_instances": "maxInstances",
    "target_invocations_per_instance": "targetInvocationsPerInstance",
    "data_capture_percent": "dataCapturePercent",
}


def parse_lock(document: Mapping[str, Any]) -> PlacementLock:
    if document.get("version") is None:  # version 1: model -> endpoint under "endpoints"
        return PlacementLock(models=dict(document.get("endpoints", {})))
    if document["version"] != LOCK_VERSION:
        raise SpecError(
            [Problem("version", f"unknown lock version {document['version']!r}; this is v2")]
        )
    problems: list[Problem] = []
    records = {}
    raw_endpoints = document.get("endpoints", {})
    for endpoint, raw in raw_endpoints.items():
        record = _record(raw, f"endpoints.{endpoint}", problems)
        if record is not None:
            records[endpoint] = record
    models, memory = {}, {}
    for model, raw in sorted(document.get("models", {}).items()):
        path = f"models.{model}"
        if not isinstance(raw, dict) or not isinstance(raw.get("endpoint"), str):
            problems.append(Problem(path, 'must be {"endpoint": <name>, "memoryMb": <MB>}'))
            continue
        if raw["endpoint"] not in raw_endpoints:
            problems.append(Problem(path, f"endpoint {raw['endpoint']!r} has no record"))
        if type(raw.get("memoryMb")) is not int or raw["memoryMb"] < 1:
            problems.append(Problem(f"{path}.memoryMb", "must be an integer >= 1"))
        models[model], memory[model] = raw["endpoint"], raw.get("memoryMb")
    if problems:
        raise SpecError(problems)
    return PlacementLock(models=models, endpoints=records, memory_mb=memory)


def _record(raw: Any, path: str, problems: list[Problem]) -> EndpointRecord | None:
    if not isinstance(raw, dict):
        problems.append(Problem(path, "must be an object"))
        return None
    found: list[Problem] = []
    instance_type = raw.get("instanceType")
    if instance_type not in catalog.SAGEMAKER_INSTANCE_TYPES:
        found.append(Problem(f"{path}.instanceType", f"unknown type {instance_type!r}"))
    values = {}
    for attr, key in _KEYS.items():
        value = raw.get(key)
        low, high = (0, 100) if attr == "data_capture_percent" else (1, None)
        if type(value) is not int or value < low or (high is not None and value > high):
            bounds = f"{low}..{high}" if high else f">= {low}"
            found.append(Problem(f"{path}.{key}", f"must be an integer {bounds}, not {value!r}"))
        values[attr] = value
    problems += found
    return None if found else EndpointRecord(instance_type, EndpointSettings(**values))


def lock_text(environment: str, lock: PlacementLock) -> str:
    """The lock file: JSON, one line per model and per endpoint, keys sorted."""
    header = {
        "comment": "Which endpoint hosts which model, and what each endpoint runs (fixed when it "
        "is opened); keeps placement stable. Update with `mlplat models place --stack "
        f"{environment}`; re-optimise with `--rebalance`.",
        "version": LOCK_VERSION,
    }
    models = {
        model: {"endpoint": endpoint, "memoryMb": lock.memory_mb[model]}
        for model, endpoint in sorted(lock.models.items())
    }
    endpoints = {
        endpoint: {
            "instanceType": record.instance_type,
            **{key: getattr(record.settings, attr) for attr, key in _KEYS.items()},
        }
        for endpoint, record in sorted(lock.endpoints.items())
    }
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in header.items()]
    for key, section in (("models", models), ("endpoints", endpoints)):
        entries = [f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in section.items()]
        body = "{\n" + ",\n".join(entries) + "\n  }" if entries else "{}"
        lines.append(f"  {json.dumps(key)}: {body},")
    return "{\n" + "\n".join(lines).rstrip(",") + "\n}\n"


def write_placement_lock(environment: str, lock: PlacementLock) -> Path:
    path = placement_lock_path(environment)
    path.write_text(lock_text(environment, lock))
    return path
