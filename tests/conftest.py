"""Shared fixtures: stack previews are run once per test session and shared by every test area."""

from __future__ import annotations

import copy
from functools import cache

import pytest

STACKS = ("dev", "staging", "prod")


@cache
def _preview(stack: str) -> dict:
    from infra.offline import preview_stack

    return preview_stack(stack)


@pytest.fixture(scope="session")
def stack_export():
    """``stack_export("dev")``: the stack's offline export (a private copy per call)."""

    def get(stack: str) -> dict:
        return copy.deepcopy(_preview(stack))

    return get
