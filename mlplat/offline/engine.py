"""Runs the Pulumi program in-process on the mock monitor: no CLI, no cloud, no network."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import set_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra import program
from infra.contract import CONTRACT_OUTPUT, ContractError, PlatformContract
from infra.declarations import EnvironmentSpec
from infra.declarations.errors import Problem, SpecError
from infra.layers import Layer, platform_stack
from infra.loader import load_environment, read_stack_config
from infra.project import PROJECT_NAME
from infra.tagging import STACK_TYPE
from mlplat.offline.mocks import AwsLikeMocks
from mlplat.offline.monitor import CapturingMonitor, Registration
from mlplat.offline.stack_references import StackReferences

# The organization offline runs use (DIY backends' fixed one): StackReferences are qualified by it.
ORGANIZATION = "organization"


@dataclass
class Capture:
    stack: str
    spec: EnvironmentSpec
    registrations: list[Registration]
    sdk_version: str


def capture_stack(
    stack: str,
    config: dict[str, str] | None = None,
    platform_outputs: dict[str, Any] | None = None,
) -> Capture:
    """Run the program for ``stack`` with its environment's ``Pulumi.<env>.yaml`` (or ``config``);
    capture it. A serving stack's StackReference reads ``platform_outputs``, the platform stack's
    outputs; without them the platform stack is previewed first, with the same config.

    The declarations are validated first, so a bad stack fails with ``SpecError`` before any
    resource is registered.
    """
    name = program.stack_name(stack)
    config = read_stack_config(name.environment) if config is None else config
    spec = load_environment(name.environment, config)
    references = StackReferences()
    if name.layer is Layer.SERVING:
        if platform_outputs is None:
            platform_outputs = stack_outputs(
                capture_stack(platform_stack(name.environment), config)
            )
        references.add(
            f"{ORGANIZATION}/{PROJECT_NAME}/{platform_stack(name.environment)}", platform_outputs
        )
        _check_contract(platform_outputs, platform_stack(name.environment))
    mocks = AwsLikeMocks(spec.settings.region, spec.settings.account_id, references)
    monitor = CapturingMonitor(mocks, stack=stack, project=PROJECT_NAME)
    runtime_settings.set_root_resource(None)  # a previous run in this process left its stack
    set_mocks(
        mocks,
        project=PROJECT_NAME,
        stack=stack,
        preview=False,
        monitor=monitor,
        organization=ORGANIZATION,
    )
    set_all_config(dict(config))
    _sync_await(run_pulumi_func(_with_stack_outputs(program.run)))
    return Capture(
        stack=stack,
        spec=spec,
        registrations=list(monitor.registrations.values()),
        sdk_version=pulumi.__version__ if hasattr(pulumi, "__version__") else _sdk_version(),
    )


def _check_contract(outputs: dict[str, Any], platform: str) -> None:
    """The platform's contract, validated before the serving program runs: a bad one is a
    SpecError naming each field (the program validates it again, as under the real engine)."""
    try:
        PlatformContract.parse(outputs.get(CONTRACT_OUTPUT), source=f"stack {platform}")
    except ContractError as error:
        raise SpecError([Problem(CONTRACT_OUTPUT, str(error))], source=platform) from None


def _with_stack_outputs(run: Callable[[], object]) -> Callable[[], None]:
    """``run``, then the stack's outputs registered, as the engine's entry point does.

    ``set_mocks`` registers the root stack's outputs (none) at once, so later ``pulumi.export``
    calls would be lost; the stack registers them again once the program has run.
    """

    def program_then_outputs() -> None:
        root = runtime_settings.get_root_resource()
        root._outputs_registered = False  # noqa: SLF001 (the SDK's own flag; see above)
        try:
            run()
        finally:
            root._finish()  # noqa: SLF001

    return program_then_outputs


def stack_outputs(capture: Capture) -> dict[str, Any]:
    """The captured stack's outputs, as the engine stores them (secrets marked)."""
    return next((dict(r.outputs) for r in capture.registrations if r.type == STACK_TYPE), {})


def _sdk_version() -> str:
    from importlib.metadata import version

    return version("pulumi")
