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


def run(real_engine: bool = False) -> EnvironmentSpec:
    """Validate the stack's declarations, then build the platform. Raises SpecError when invalid.
    Under the real engine (``pulumi preview|up``) a stale placement lock is a warning in a
    preview and an error in an update: what is deployed is what is committed."""
    from infra.platform import build_platform

    spec = load_environment(pulumi.get_stack(), runtime_config())
    if real_engine:
        from infra.lock_status import lock_drift, refuse_stale_lock

        if not pulumi.runtime.is_dry_run():
            refuse_stale_lock(spec)
        elif drift := lock_drift(spec):
            pulumi.log.warn(f"{drift.describe()}; `up` will refuse it")
    tagging.install(spec.name)
    build_platform(spec)
    return spec
