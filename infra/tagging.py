"""The one mechanism that tags AWS resources: a stack transform fed by component ownership.

Every taggable AWS resource gets ``mlplat:environment``; resources under a component that a team
or a model owns also get ``mlplat:team`` / ``mlplat:model``. Components declare their owner when
they are created (``declare_owner``); the transform gives each resource the owner of its nearest
owned ancestor. It runs for every resource of the stack, including the children of remote
components such as pulumi-eks's, which a per-resource ``tags=`` argument could never reach.

The real engine calls the transform through its callback protocol; the offline engine calls it
itself, because Pulumi's mock monitor does not run transforms. The decision logic below is plain
Python (``OwnershipRegistry``, ``required_tags``, ``merge_tags``) and is tested without either.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

import pulumi
import pulumi.runtime

from infra.declarations.tags import TAG_ENVIRONMENT, TAG_MODEL, TAG_TEAM, Ownership

STACK_TYPE = "pulumi:pulumi:Stack"

# Resources whose `tags` input is not a map of strings (autoscaling groups take a list).
_NOT_MAP_TAGGED = frozenset({"aws:autoscaling/group:Group"})


def required_tags(environment: str, owner: Ownership | None) -> dict[str, str]:
    tags = {TAG_ENVIRONMENT: environment}
    if owner and owner.team:
        tags[TAG_TEAM] = owner.team
    if owner and owner.model:
        tags[TAG_MODEL] = owner.model
    return tags


def merge_tags(existing: Any, required: dict[str, str]) -> Any:
    """The resource's own tags plus the platform's; the platform's keys win (they are the truth)."""
    if isinstance(existing, pulumi.Output):
        return existing.apply(lambda tags: {**(tags or {}), **required})
    return {**(existing or {}), **required}


def child_urn(parent_urn: str, type_: str, name: str) -> str:
    """The engine's URN for a resource: its parent's type chain (not the stack's), then its own."""
    _, _, stack_project = parent_urn.partition("urn:pulumi:")
    stack, project, parent_type, _ = stack_project.split("::", 3)
    qualified = type_ if parent_type == STACK_TYPE else f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


class OwnershipRegistry:
    """Owners declared by components, and the owner each registered resource inherited."""

    def __init__(self) -> None:
        self._declared: dict[tuple[str, str], Ownership] = {}
        self._by_urn: dict[str, Ownership] = {}

    def declare(self, type_: str, name: str, owner: Ownership) -> None:
        self._declared[(type_, name)] = owner

    def resolve(self, type_: str, name: str, parent_urn: str | None) -> Ownership | None:
        """The owner of a resource being registered, remembered for its own children.

        The parent's own declaration is also read from its URN, so ownership holds even where an
        engine does not pass a component itself through the transform.
        """
        owner = self._declared.get((type_, name))
        if parent_urn:
            owner = (
                owner
                or self._by_urn.get(parent_urn)
                or self._declared.get(_type_and_name(parent_urn))
            )
            self._by_urn[child_urn(parent_urn, type_, name)] = owner
        return owner


def _type_and_name(urn: str) -> tuple[str, str]:
    # The name is last and may itself contain "::" (Pulumi allows any text in a name).
    qualified_type, name = urn.split("::", 3)[2:]
    return qualified_type.rsplit("$", 1)[-1], name


@cache
def is_taggable(type_: str) -> bool:
    """Whether the resource class for this type token takes a ``tags`` map input."""
    if type_ in _NOT_MAP_TAGGED or not type_.startswith(("aws:", "eks:")):
        return False
    resource_class = _resource_class(type_)
    if resource_class is None:
        return False
    return "tags" in inspect.signature(resource_class._internal_init).parameters


def _resource_class(type_: str) -> type | None:
    """Find the SDK class for a type token through the packages' own resource-module registry."""
    from pulumi.runtime.rpc import _RESOURCE_MODULES

    package, module_path, _ = type_.split(":", 2)
    for module in _RESOURCE_MODULES.get(f"{package}:{module_path}", []):
        info = getattr(module, "mod_info", None) or {}
        class_name = info.get("classes", {}).get(type_)
        if class_name:
            import importlib

            return getattr(importlib.import_module(info["fqn"]), class_name, None)
    return None


class TagTransform:
    """A stack resource transform: adds the required tags to every taggable resource."""

    def __init__(self, environment: str, registry: OwnershipRegistry) -> None:
        self.environment = environment
        self.registry = registry

    def tagged_props(
        self, type_: str, name: str, props: dict[str, Any], parent_urn: str | None
    ) -> dict[str, Any] | None:
        """New props for the resource, or None when it needs no change."""
        owner = self.registry.resolve(type_, name, parent_urn)
        if not is_taggable(type_):
            return None
        return {
            **props,
            "tags": merge_tags(props.get("tags"), required_tags(self.environment, owner)),
        }

    async def __call__(self, args: pulumi.ResourceTransformArgs):
        parent = args.opts.parent if args.opts else None
        parent_urn = await parent.urn.future() if parent is not None else None
        props = self.tagged_props(args.type_, args.name, dict(args.props), parent_urn)
        if props is None:
            return None
        return pulumi.ResourceTransformResult(props=props, opts=args.opts)


_registry = OwnershipRegistry()


def declare_owner(type_: str, name: str, owner: Ownership) -> None:
    """Called by components before they register, so their children inherit the owner."""
    _registry.declare(type_, name, owner)


def install(environment: str) -> TagTransform:
    """Register the tag transform for this program run (a fresh registry each run)."""
    global _registry
    _registry = OwnershipRegistry()
    transform = TagTransform(environment, _registry)
    pulumi.runtime.register_resource_transform(transform)
    return transform
