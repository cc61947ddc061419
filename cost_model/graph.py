"""The captured resource graph the estimator reads: a `pulumi stack export` (version 3) document.

Only what pricing and plan diffs need: each resource's type, URN, properties, parent,
dependencies, provider and resource options, with the lookups that relate resources (ancestors,
the provider's region). Built from an export file or from the resources a policy pack's stack
validation receives, so one estimator serves the CLI and the policy rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from infra.declarations.tags import TAG_MODEL
from infra.layers import environment_of

EXPORT_VERSION = 3
# Resource options an export records that change how the engine treats a resource.
OPTIONS = (
    "protect",
    "ignoreChanges",
    "replaceOnChanges",
    "retainOnDelete",
    "deleteBeforeReplace",
)


class ExportError(ValueError):
    """The document is not a version 3 `pulumi stack export`."""


def read_export(path: Path) -> Any:
    """The JSON document in ``path`` (callers name the file in their own message)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportError(f"not JSON: {error}") from None


@dataclass(frozen=True)
class Resource:
    urn: str
    type: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    provider_urn: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    # Input name -> the URNs whose outputs that input was built from (the engine's record).
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    @property
    def stack(self) -> str:
        # urn:pulumi:<stack>::<project>::<type>::<name>
        return self.urn.split("::", 1)[0].removeprefix("urn:pulumi:")

    @property
    def environment(self) -> str:
        """The environment of the resource's stack (every layer of dev is in dev)."""
        return environment_of(self.stack)

    def prop(self, key: str, default: Any = None) -> Any:
        """An input, or the output of that name when the input is absent (e.g. auto-names)."""
        if self.inputs.get(key) is not None:
            return self.inputs[key]
        value = self.outputs.get(key)
        return default if value is None else value

    @property
    def tags(self) -> Mapping[str, str]:
        return self.prop("tags") or {}


@dataclass(frozen=True)
class Graph:
    resources: tuple[Resource, ...]
    # Who wrote the export (its manifest's generator), "" when it does not say.
    generator: str = ""

    @cached_property
    def by_urn(self) -> dict[str, Resource]:
        return {resource.urn: resource for resource in self.resources}

    def of_type(self, *types: str) -> list[Resource]:
        return [resource for resource in self.resources if resource.type in types]

    def ancestors(self, resource: Resource) -> Iterable[Resource]:
        seen = set()
        parent = resource.parent
        while parent and parent in self.by_urn and parent not in seen:
            seen.add(parent)
            yield self.by_urn[parent]
            parent = self.by_urn[parent].parent

    def models(self) -> set[str]:
        """The models that own resources in the graph (their ``mlplat:model`` tag)."""
        tags = (r.tags for r in self.resources)
        return {t[TAG_MODEL] for t in tags if isinstance(t, Mapping) and t.get(TAG_MODEL)}

    def region_of(self, resource: Resource) -> str | None:
        """The region of the (explicit or default) provider that manages the resource."""
        provider = self.by_urn.get(resource.provider_urn or "")
        return provider.prop("region") if provider else None

    def default_region(self) -> str | None:
        """The region of the stack's default AWS provider, if the graph records it."""
        for resource in self.of_type("pulumi:providers:aws"):
            if resource.name.startswith("default") and resource.prop("region"):
                return resource.prop("region")
        return None

    @classmethod
    def from_export(cls, document: Mapping[str, Any]) -> Graph:
        if not isinstance(document, Mapping) or document.get("version") != EXPORT_VERSION:
            found = document.get("version") if isinstance(document, Mapping) else type(document)
            raise ExportError(
                f"expected a `pulumi stack export` document with version {EXPORT_VERSION}, "
                f"found version {found!r}"
            )
        entries = (document.get("deployment") or {}).get("resources")
        if not isinstance(entries, list):
            raise ExportError("the export has no deployment.resources list")
        manifest = (document.get("deployment") or {}).get("manifest") or {}
        return cls(
            tuple(_resource(index, entry) for index, entry in enumerate(entries)),
            generator=str(manifest.get("generator") or ""),
        )

    @classmethod
    def from_policy_resources(cls, resources: Iterable[Any]) -> Graph:
        """From pulumi_policy PolicyResource objects, whose ``props`` are the resource's outputs."""
        resources = list(resources)
        providers = {r.provider.urn: r.provider for r in resources if r.provider is not None}
        nodes = [
            Resource(urn=p.urn, type=p.resource_type, outputs=p.props) for p in providers.values()
        ]
        nodes += [
            Resource(
                urn=r.urn,
                type=r.resource_type,
                outputs=r.props,
                parent=r.parent.urn if r.parent is not None else None,
                dependencies=tuple(d.urn for d in r.dependencies),
                provider_urn=r.provider.urn if r.provider is not None else None,
            )
            for r in resources
        ]
        return cls(tuple(nodes))


def _resource(index: int, entry: Mapping[str, Any]) -> Resource:
    try:
        urn, type_ = entry["urn"], entry["type"]
    except (KeyError, TypeError):
        raise ExportError(f"deployment.resources[{index}] has no urn or type") from None
    for part in ("inputs", "outputs"):
        if not isinstance(entry.get(part) or {}, Mapping):
            raise ExportError(f"deployment.resources[{index}].{part} is not an object ({urn})")
    provider = entry.get("provider") or None
    return Resource(
        urn=urn,
        type=type_,
        inputs=entry.get("inputs") or {},
        outputs=entry.get("outputs") or {},
        id=entry.get("id") or None,
        parent=entry.get("parent") or None,
        dependencies=tuple(entry.get("dependencies") or ()),
        # A provider reference is "<provider urn>::<provider id>".
        provider_urn=provider.rsplit("::", 1)[0] if provider else None,
        options={key: entry[key] for key in OPTIONS if entry.get(key)},
        property_dependencies={
            key: tuple(urns or ())
            for key, urns in (entry.get("propertyDependencies") or {}).items()
        },
    )
