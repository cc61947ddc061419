"""Runs the Pulumi program in-process on the mock monitor: no CLI, no cloud, no network."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import set_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra import program
from infra.declarations import EnvironmentSpec
from infra.loader import load_environment, read_stack_config
from infra.offline.mocks import AwsLikeMocks
from infra.offline.monitor import CapturingMonitor, Registration
from infra.project import PROJECT_NAME


@dataclass
class Capture:
    stack: str
    spec: EnvironmentSpec
    registrations: list[Registration]
    sdk_version: str


def capture_stack(stack: str, config: dict[str, str] | None = None) -> Capture:
    """Run the program for ``stack`` with ``Pulumi.<stack>.yaml`` (or ``config``); capture it.

    The declarations are validated first, so a bad stack fails with ``SpecError`` before any
    resource is registered.
    """
    config = read_stack_config(stack) if config is None else config
    spec = load_environment(stack, config)
    mocks = AwsLikeMocks(region=spec.settings.region, account=spec.settings.account_id)
    monitor = CapturingMonitor(mocks, stack=stack, project=PROJECT_NAME)
    runtime_settings.set_root_resource(None)  # a previous run in this process left its stack
    set_mocks(mocks, project=PROJECT_NAME, stack=stack, preview=False, monitor=monitor)
    set_all_config(dict(config))
    _sync_await(run_pulumi_func(program.run))
    return Capture(
        stack=stack,
        spec=spec,
        registrations=list(monitor.registrations.values()),
        sdk_version=pulumi.__version__ if hasattr(pulumi, "__version__") else _sdk_version(),
    )


def _sdk_version() -> str:
    from importlib.metadata import version

    return version("pulumi")
