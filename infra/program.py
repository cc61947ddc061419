"""The Pulumi program: what `pulumi up --stack <env>` runs, and what the offline engine runs too."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from infra import tagging
from infra.declarations import EnvironmentSpec
from infra.loader import load_environment


def runtime_config() -> dict[str, Any]:
    """All config the engine handed this run (``<namespace>:<key>`` -> value text)."""
    return {**get_config_env(), **CONFIG.get()}


def run() -> EnvironmentSpec:
    """Validate the stack's declarations, then build the platform. Raises SpecError when invalid."""
    from infra.platform import build_platform

    spec = load_environment(pulumi.get_stack(), runtime_config())
    tagging.install(spec.name)
    build_platform(spec)
    return spec
