"""The Pulumi program: what `pulumi up --stack <env>` runs, and what the offline engine runs too."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from infra import tagging
from infra.declarations import EnvironmentSpec
from infra.declarations.errors import Problem, SpecError
from infra.layers import Layer, StackName, parse_stack
from infra.loader import load_environment, read_stack_config


def runtime_config() -> dict[str, Any]:
    """All config the engine handed this run (``<namespace>:<key>`` -> value text)."""
    return {**get_config_env(), **CONFIG.get()}


def stack_name(stack: str) -> StackName:
    """The stack's name parsed; SpecError (exit 2, no traceback) when it has no known shape."""
    try:
        return parse_stack(stack)
    except ValueError as error:
        raise SpecError([Problem("stack", str(error))], source="stack name") from None


def stack_config(stack: str, engine_config: dict[str, Any]) -> dict[str, Any]:
    """The config a stack is built with. A layered stack reads its environment's settings from
    ``Pulumi.<env>.yaml``, so the layers cannot disagree; its own file need only set ``aws:region``
    for the provider (anything it sets wins)."""
    name = stack_name(stack)
    if name.layer is Layer.SINGLE:
        return engine_config
    return {**read_stack_config(name.environment), **engine_config}


def run(real_engine: bool = False) -> EnvironmentSpec:
    """Validate the stack's declarations, then build its layer(s). Raises SpecError when invalid.
    Under the real engine (``pulumi preview|up``) a stale placement lock is a warning in a
    preview and an error in an update: what is deployed is what is committed."""
    from infra.platform import build_platform
    from infra.serving_program import build_serving_stack

    stack = stack_name(pulumi.get_stack())
    spec = load_environment(stack.environment, stack_config(str(stack), runtime_config()))
    if real_engine:
        from infra.lock_status import lock_drift, refuse_stale_lock

        if not pulumi.runtime.is_dry_run():
            refuse_stale_lock(spec)
        elif drift := lock_drift(spec):
            pulumi.log.warn(f"{drift.describe()}; `up` will refuse it")
    tagging.install(spec.name)
    if stack.layer is Layer.SERVING:
        build_serving_stack(spec, stack)
    else:
        build_platform(spec, stack)
    return spec
