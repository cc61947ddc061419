"""A stale placement lock: a preview says so and what `models place` would change; a deployment
(`mlplat up`, or `pulumi up` running the program) refuses it before anything changes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from infra.declarations import SpecError
from infra.loader import load_environment, read_stack_config
from infra.lock_status import lock_drift
from mlplat import deploy
from mlplat.cli import app
from tests.serving.test_preview import _extra_model
from tests.serving.v1_locks import v1_models  # dispute-triage, one more fraud model

runner = CliRunner()


@pytest.fixture
def unplaced_model(monkeypatch):
    """dev declares one more endpoint model than its committed lock places."""
    import stacks.dev

    monkeypatch.setattr(stacks.dev, "models", [*stacks.dev.models, _extra_model()])


@pytest.fixture
def removed_model(monkeypatch):
    import stacks.dev

    kept = [m for m in stacks.dev.models if getattr(m, "name", "") != "chargeback-risk"]
    assert len(kept) == len(stacks.dev.models) - 1
    monkeypatch.setattr(stacks.dev, "models", kept)


def test_the_committed_lock_has_no_drift():
    assert not lock_drift(load_environment("dev", read_stack_config("dev")))


def test_drift_names_what_models_place_would_do(unplaced_model):
    drift = lock_drift(load_environment("dev", read_stack_config("dev")))
    assert set(drift.placed) == {"dispute-triage"} and not drift.moved and not drift.dropped
    assert "stacks/dev.placement.json is stale" in drift.describe()
    assert "`mlplat models place --stack dev` would place dispute-triage on mlplat-dev-" in (
        drift.describe()
    )


def test_a_model_whose_memory_changed_is_drift_until_the_lock_records_it(monkeypatch):
    """The lock keeps each model's memory as placed (which model grew decides who moves)."""
    import stacks.dev
    from components.serving.placement import read_placement_lock

    lock = read_placement_lock("dev")
    name = sorted(lock.models)[0]

    def resized(model):
        base = getattr(model, "base", model)
        if base.name != name:
            return model
        return model.override(resources={"memory_mb": lock.memory_mb[name] - 1})

    monkeypatch.setattr(stacks.dev, "models", [resized(m) for m in stacks.dev.models])
    drift = lock_drift(load_environment("dev", read_stack_config("dev")))
    assert drift and drift.resized == (name,) and not drift.moved and not drift.placed
    assert f"record the memory of {name}" in drift.describe()


def test_a_removed_model_is_drift_too(removed_model):
    drift = lock_drift(load_environment("dev", read_stack_config("dev")))
    assert drift.dropped == ("chargeback-risk",) and "drop chargeback-risk" in drift.describe()


@pytest.mark.slow
def test_preview_warns_and_shows_the_placement_it_would_make(unplaced_model):
    result = runner.invoke(app, ["preview", "--stack", "dev"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "warning: stacks/dev.placement.json is stale" in result.output
    assert "would place dispute-triage on mlplat-dev-" in result.output
    assert "`up` refuses a stale lock" in result.output
    assert "mlplat-dev-dispute-triage" in result.output  # placed in memory, in the tree


@pytest.mark.parametrize("drift", ["unplaced_model", "removed_model"])
def test_up_refuses_a_stale_lock_before_the_engine(drift, request, monkeypatch):
    request.getfixturevalue(drift)
    monkeypatch.setattr(deploy, "check_prerequisites", lambda stack: pytest.fail("went on"))
    result = runner.invoke(app, ["up", "--stack", "dev"], env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "dev.placement.json" in result.output and "is stale" in result.output
    assert "commit the lock, then deploy" in result.output


def test_destroy_does_not_need_a_current_lock(unplaced_model, monkeypatch):
    class Stopped(Exception):
        pass

    def stop(stack):
        raise Stopped

    monkeypatch.setattr(deploy, "check_prerequisites", stop)
    with pytest.raises(Stopped):
        deploy.run("dev", destroy=True)


class _Mocks:
    def new_resource(self, args):
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_program_under_the_engine_refuses_a_stale_lock_in_an_update(
    dry_run, unplaced_model, monkeypatch
):
    """`pulumi up` runs infra/__main__.py, i.e. program.run(real_engine=True): the update (not
    its preview) stops with the stale lock before any resource is built."""
    import pulumi
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.mocks import set_mocks

    from infra import program

    built = []
    monkeypatch.setattr("infra.platform.build_platform", lambda spec, stack: built.append(spec))
    monkeypatch.setattr("infra.tagging.install", lambda environment: None)
    warned = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: warned.append(message))
    runtime_settings.set_root_resource(None)
    set_mocks(_Mocks(), project="mlplat", stack="dev", preview=dry_run)
    set_all_config(read_stack_config("dev"))
    if dry_run:
        program.run(real_engine=True)
        assert built and "is stale" in warned[0]
    else:
        with pytest.raises(SpecError, match="is stale"):
            program.run(real_engine=True)
        assert not built


def test_a_version_1_lock_is_drift_until_migrated(monkeypatch):
    import infra.lock_status
    from components.serving.placement import PlacementLock, read_placement_lock

    spec = load_environment("dev", read_stack_config("dev"))
    committed = read_placement_lock("dev")
    v1 = PlacementLock(models=v1_models(spec, committed))  # as a v1 file loads
    monkeypatch.setattr(infra.lock_status, "read_placement_lock", lambda stack: v1)
    drift = lock_drift(spec)
    assert drift and not drift.moved and not drift.dropped
    # Models on endpoints opened since v1 were in no v1 file: placed anew, where they are now.
    assert drift.placed == {m: e for m, e in committed.models.items() if m not in v1.models}
    assert not drift.resized  # a v1 lock kept no memory: nothing to compare
    assert drift.recorded  # the endpoints' type and settings are missing from a v1 lock
    assert "record the instance type and settings of" in drift.describe()
