"""A resource monitor that records what the program registers, the way the engine would store it.

It extends Pulumi's ``MockMonitor`` with what a faithful graph needs and the mock leaves out:
engine-format URNs (the stack's type is not part of its children's), resource options (protect,
ignoreChanges, aliases, ...), dependencies, default providers, component outputs, and the stack
transforms, which the mock monitor records but never runs.
"""

from __future__ import annotations

import hashlib
import inspect
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.resource import DependencyResource
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from infra.project import PROJECT_ROOT
from infra.tagging import STACK_TYPE

# Signatures the engine uses to mark special values on the wire.
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
SIG_KEY = "4dabf18193072939515e22adb298388d"


@dataclass
class Registration:
    """One resource as the engine's state stores it (a `pulumi stack export` entry)."""

    urn: str
    type: str
    custom: bool
    id: str = ""
    parent: str = ""
    provider: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    remote: bool = False
    external: bool = False  # read, not managed (a StackReference, a `get` of an existing resource)


def plain_json(struct) -> dict[str, Any]:
    """A protobuf Struct as JSON: whole numbers as ints, secrets as `--show-secrets` prints them."""
    return _normalise(json_format.MessageToDict(struct))


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG and "value" in value:
            return {SIG_KEY: SECRET_SIG, "plaintext": _normalise(value["value"])}
        if value.get(SIG_KEY) == ASSET_SIG and "path" in value:
            return _file_asset(value["path"])
        return {key: _normalise(item) for key, item in value.items()}
    return value


def _file_asset(path: str) -> dict[str, Any]:
    """A file asset as state records it: with the sha256 the engine computes from its content.

    A path inside the project is written relative to it, so checkouts in different folders give
    identical exports; the hash, not the path, is what decides whether the object changes.
    """
    file = Path(path)
    asset: dict[str, Any] = {SIG_KEY: ASSET_SIG, "path": path}
    if file.is_absolute() and file.is_relative_to(PROJECT_ROOT):
        asset["path"] = file.relative_to(PROJECT_ROOT).as_posix()
    if file.is_file():
        asset["hash"] = hashlib.sha256(file.read_bytes()).hexdigest()
    return asset


class CapturingMonitor(MockMonitor):
    def __init__(self, mocks: Mocks, stack: str, project: str) -> None:
        super().__init__(mocks)
        self.stack, self.project = stack, project
        self.registrations: dict[str, Registration] = {}
        self._lock = threading.Lock()

    # URNs as the engine makes them: a child of the stack does not carry the stack's type.
    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent and parent.split("::")[2] != STACK_TYPE:
            type_ = parent.split("::")[2] + "$" + type_
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            stack_name = f"{self.project}-{self.stack}"
            urn = f"urn:pulumi:{self.stack}::{self.project}::{STACK_TYPE}::{stack_name}"
            self._record(Registration(urn=urn, type=STACK_TYPE, custom=False))
            return resource_pb2.RegisterResourceResponse(urn=urn)

        _ensure_event_loop()
        struct, inputs = self._transformed(request)
        # A provider resource has no provider of its own.
        managed = request.custom and not request.type.startswith("pulumi:providers:")
        provider = request.provider or (self._default_provider(request) if managed else "")
        args = MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        args.urn = urn  # the mocks derive physical names and ids from the unique URN
        args.region = self._provider_region(provider)
        resource_id, state = self.mocks.new_resource(args)
        state_struct = _sync_await(rpc.serialize_properties(state, {}))
        self._record(
            Registration(
                urn=urn,
                type=request.type,
                custom=bool(request.custom),
                id=resource_id or "" if request.custom else "",
                parent=request.parent,
                provider=provider,
                inputs=plain_json(struct),
                outputs=plain_json(state_struct) if request.custom or request.remote else {},
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=list(request.ignoreChanges),
                replace_on_changes=list(request.replaceOnChanges),
                aliases=[self._alias_urn(alias, request) for alias in request.aliases],
                dependencies=sorted(set(request.dependencies)),
                property_dependencies={
                    key: sorted(set(deps.urns))
                    for key, deps in request.propertyDependencies.items()
                },
                remote=bool(request.remote),
            )
        )
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=state_struct)

    def ReadResource(self, request):
        """A read resource is stored as the engine stores it: external, with the state read."""
        response = super().ReadResource(request)
        self._record(
            Registration(
                urn=response.urn,
                type=request.type,
                custom=True,
                id=request.id,
                parent=request.parent,
                provider=request.provider,
                inputs=plain_json(request.properties),
                outputs=plain_json(response.properties),
                dependencies=sorted(set(request.dependencies)),
                external=True,
            )
        )
        return response

    def RegisterResourceOutputs(self, request):
        with self._lock:
            registration = self.registrations.get(request.urn)
            if registration is not None:
                registration.outputs = plain_json(request.outputs)
        return empty_pb2.Empty()

    def _record(self, registration: Registration) -> None:
        with self._lock:
            if registration.urn in self.registrations:
                raise ValueError(f"duplicate resource URN {registration.urn}")
            self.registrations[registration.urn] = registration

    def _transformed(self, request) -> tuple[struct_pb2.Struct, dict[str, Any]]:
        """Run the stack transforms the way the engine's callback protocol would.

        Returns the inputs on the wire and deserialised. Only the properties a transform replaced
        are serialised again (the tag transform touches one), which keeps large graphs fast.
        """
        props = rpc.deserialize_properties(request.object)
        if not self._stack_transforms:
            return request.object, props
        original = dict(props)
        opts = pulumi.ResourceOptions(
            parent=DependencyResource(request.parent) if request.parent else None
        )
        for transform in self._stack_transforms:
            args = pulumi.ResourceTransformArgs(
                custom=bool(request.custom),
                type_=request.type,
                name=request.name,
                props=props,
                opts=opts,
            )
            result = transform(args)
            if inspect.isawaitable(result):
                result = _sync_await(result)
            if result is not None:
                props, opts = dict(result.props), result.opts
        replaced = {key: value for key, value in props.items() if original.get(key) is not value}
        removed = original.keys() - props.keys()
        if not replaced and not removed:
            return request.object, props
        struct = struct_pb2.Struct()
        struct.CopyFrom(request.object)
        patch = _sync_await(rpc.serialize_properties(replaced, {}))
        for key in removed | (replaced.keys() - patch.fields.keys()):
            struct.fields.pop(key, None)  # removed, or replaced by None
        for key, value in patch.fields.items():
            struct.fields[key].CopyFrom(value)
        return struct, props

    def _default_provider(self, request) -> str:
        """The engine's default provider reference for this package: `<urn>::<id>`."""
        package = request.type.split(":", 1)[0]
        version = (request.version or "0.0.0").replace(".", "_")
        name = f"default_{version}"
        urn = f"urn:pulumi:{self.stack}::{self.project}::pulumi:providers:{package}::{name}"
        provider_id = self.mocks.provider_id(urn)
        with self._lock:
            if urn not in self.registrations:
                self.registrations[urn] = Registration(
                    urn=urn,
                    type=f"pulumi:providers:{package}",
                    custom=True,
                    id=provider_id,
                    inputs=self.mocks.provider_inputs(package, request.version),
                    outputs=self.mocks.provider_inputs(package, request.version),
                )
        return f"{urn}::{provider_id}"

    def _provider_region(self, provider_ref: str) -> str | None:
        """The region an explicit AWS provider was configured with (None for default providers)."""
        provider = self.registrations.get(provider_ref.rsplit("::", 1)[0]) if provider_ref else None
        return (
            provider.inputs.get("region")
            if provider and provider.type == "pulumi:providers:aws"
            else None
        )

    def _alias_urn(self, alias, request) -> str:
        if alias.urn:
            return alias.urn
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return self.make_urn(parent, spec.type or request.type, spec.name or request.name)
