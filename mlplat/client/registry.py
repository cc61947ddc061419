"""Resolving a model to its route from the registry table, cached for a short TTL.

Reads the model's served record (``components.registry_route``), so the caller never names a
backend: when the platform moves a model (another endpoint, EKS to a multi-model endpoint), the
record changes and callers follow within one TTL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from boto3.dynamodb.types import TypeDeserializer

from components.registry_route import (
    REGISTRY_HASH_KEY,
    REGISTRY_RANGE_KEY,
    SERVED_VERSION,
    MalformedRoute,
    Route,
    model_key,
)
from mlplat.client.errors import RequestRejected, UnknownModel, VersionNotServed

_plain = TypeDeserializer()


@dataclass(frozen=True)
class Resolved:
    team: str
    model: str
    version: int
    route: Route


class RouteCache:
    def __init__(
        self, dynamodb, table: str, *, ttl_seconds: float, clock: Callable[[], float]
    ) -> None:
        self._dynamodb, self._table = dynamodb, table
        self._ttl, self._clock = ttl_seconds, clock
        self._served: dict[str, tuple[float, Resolved]] = {}

    def resolve(self, team: str, model: str, version: int | None) -> Resolved:
        resolved = self._served_route(team, model)
        if version is not None and version != resolved.version:
            registered = self._get(model_key(team, model), version) is not None
            raise VersionNotServed(model, version, resolved.version, registered)
        return resolved

    def _served_route(self, team: str, model: str) -> Resolved:
        key = model_key(team, model)
        cached = self._served.get(key)
        now = self._clock()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        item = self._get(key, SERVED_VERSION)
        if item is None:
            raise UnknownModel(model, f"no served record under {key!r} in {self._table}")
        try:
            route = Route.from_attributes(item)
        except MalformedRoute as error:
            raise RequestRejected(model, f"registry record {key!r}: {error}") from error
        resolved = Resolved(team, model, int(item["servedVersion"]), route)
        self._served[key] = (now, resolved)
        return resolved

    def _get(self, key: str, version: int) -> dict | None:
        response = self._dynamodb.get_item(
            TableName=self._table,
            Key={REGISTRY_HASH_KEY: {"S": key}, REGISTRY_RANGE_KEY: {"N": str(version)}},
        )
        item = response.get("Item")
        return None if item is None else {k: _plain.deserialize(v) for k, v in item.items()}
