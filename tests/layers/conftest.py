"""Layered previews of an environment, run once per session (each is a platform + team stacks)."""

from __future__ import annotations

import copy
from functools import cache

import pytest


@cache
def _layers(environment: str) -> dict:
    from mlplat.offline import preview_layers

    return preview_layers(environment)


@pytest.fixture(scope="session")
def layer_exports():
    """``layer_exports("dev")``: stack name -> export of every layered stack of dev (a copy)."""

    def get(environment: str) -> dict:
        return copy.deepcopy(_layers(environment))

    return get


@pytest.fixture
def layers_with_models(monkeypatch):
    """``layers_with_models("dev", edit)``: the layered exports as if ``stacks/<env>.py``
    declared ``edit(models)`` instead of its models."""
    import importlib

    from mlplat.offline import preview_layers

    def preview(environment: str, edit) -> dict:
        module = importlib.import_module(f"stacks.{environment}")
        monkeypatch.setattr(module, "models", list(edit(list(module.models))))
        return preview_layers(environment)

    return preview


def resources(document: dict) -> list[dict]:
    return document["deployment"]["resources"]
