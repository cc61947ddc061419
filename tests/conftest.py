"""Shared fixtures: stack previews are run once per test session and shared by every test area."""

from __future__ import annotations

import copy
import os
from functools import cache

import pytest
from hypothesis import Phase, settings

STACKS = ("dev", "staging", "prod")

# Property tests draw the same examples on every run, so CI's verdict on a commit does not depend
# on luck (a random draw once turned it red with a fleet the generator should not have made);
# HYPOTHESIS_PROFILE=explore draws new ones, to look for bugs on purpose.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
# benchmarks/mutation.py: the same examples, but a failing one is not shrunk. A mutant is killed by
# the first failure; shrinking it (seconds to minutes per mutant) only makes the report readable.
settings.register_profile(
    "mutation", settings.get_profile("repeatable"), phases=(Phase.explicit, Phase.generate)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
# Set by benchmarks/mutation.py for the modules whose tests must not start the offline engine.
NO_ENGINE = "MLPLAT_TESTS_WITHOUT_ENGINE"


def pytest_configure(config):
    """Under NO_ENGINE, a test that reaches the offline engine is skipped when it would start it.

    The engine serves Pulumi's callbacks (the tag transform) over gRPC, whose threads are not
    fork-safe: mutmut forks a worker per mutant from the process that ran the tests, and workers
    forked after the engine ran hung until timed out. The check before it (loading and validating
    the stack) still runs, so a test that expects a bad stack to be refused is not skipped."""
    if not os.environ.get(NO_ENGINE):
        return
    from mlplat.offline import engine

    def no_engine(*args, **kwargs):
        pytest.skip(f"runs the offline engine ({NO_ENGINE} is set)")

    engine.set_mocks = no_engine


@cache
def _preview(stack: str) -> dict:
    from mlplat.offline import preview_stack

    return preview_stack(stack)


@pytest.fixture(scope="session")
def stack_export():
    """``stack_export("dev")``: the stack's offline export (a private copy per call)."""

    def get(stack: str) -> dict:
        return copy.deepcopy(_preview(stack))

    return get


@pytest.fixture
def preview_with_models(monkeypatch):
    """``preview_with_models("dev", edit)``: the stack's export as if ``stacks/<stack>.py``
    declared ``edit(models)`` instead of its models (validated as a stack file is)."""
    import importlib

    from mlplat.offline import preview_stack

    def preview(stack: str, edit) -> dict:
        module = importlib.import_module(f"stacks.{stack}")
        monkeypatch.setattr(module, "models", list(edit(list(module.models))))
        return preview_stack(stack)

    return preview


@pytest.fixture(scope="session", autouse=True)
def _package_cache_in_a_temporary_folder(tmp_path_factory):
    """Archives built by the tests' previews stay out of the work tree's .mlplat/ cache."""
    from model_packages.packaging import CACHE_ENV

    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("packages"))
    yield
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="session", autouse=True)
def _mlflow_default_store_in_a_temporary_folder(tmp_path_factory):
    """MLflow falls back to ./mlruns when no store is named; keep tests out of the work tree."""
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = tmp_path_factory.mktemp("mlruns").as_uri()
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    yield
    if previous is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous
