"""Shared fixtures for the compute tests: one offline preview per stack for the whole session."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pytest

from infra.declarations import EnvironmentSpec
from infra.loader import load_environment, read_stack_config

STACKS = ("dev", "staging", "prod")


@dataclass
class Plan:
    """A stack's export, with the lookups the compute tests need."""

    stack: str
    spec: EnvironmentSpec
    resources: list[dict[str, Any]]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_]

    def one(self, type_: str) -> dict[str, Any]:
        found = self.of_type(type_)
        assert len(found) == 1, f"{self.stack}: expected one {type_}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> dict[str, Any]:
        return next(r for r in self.resources if r["urn"] == urn)

    def named(self, type_: str, name: str) -> dict[str, Any]:
        return next(r for r in self.of_type(type_) if r["urn"].endswith(f"::{name}"))

    @cached_property
    def kubernetes_objects(self) -> list[dict[str, Any]]:
        """Every Kubernetes object the program renders (Helm releases are not manifests)."""
        return [
            r
            for r in self.resources
            if r["type"].startswith("kubernetes:") and r["custom"] and "helm.sh" not in r["type"]
        ]

    def kube(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.kubernetes_objects
            if r["inputs"].get("kind") == kind
            and (namespace is None or r["inputs"]["metadata"].get("namespace") == namespace)
        ]

    @property
    def workloads(self) -> list[dict[str, Any]]:
        return self.kube("Deployment")


def manifest(resource: dict[str, Any]) -> dict[str, Any]:
    """The Kubernetes manifest the provider would apply, from the resource's inputs."""
    return {key: value for key, value in resource["inputs"].items() if not key.startswith("__")}


@pytest.fixture(scope="session", params=STACKS)
def plan(request, stack_export) -> Plan:
    stack = request.param
    document = stack_export(stack)  # the session's one preview of the stack, a private copy
    spec = load_environment(stack, read_stack_config(stack))
    return Plan(stack=stack, spec=spec, resources=document["deployment"]["resources"])
