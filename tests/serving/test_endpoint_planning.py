"""Endpoint planning and capacity, directly: co-hosted models with different settings.

The example stacks co-host models with equal settings, so these properties are checked here on
declarations that differ: an endpoint serves its most demanding model, its capacity is the
configured share of its instance's memory, a locked model that grew is not left overfilling its
endpoint, and new models fill shards by shard number.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.serving.placement import (
    Capacity,
    GroupKey,
    Item,
    assign,
    endpoint_capacity,
    group_key,
    place_models,
    placement_lock_path,
    plan_endpoints,
    read_placement_lock,
    serving_image,
    write_placement_lock,
)
from infra import catalog
from infra.declarations import EnvironmentSpec, ModelDeclaration
from infra.loader import parse_environment
from tests.foundation.conftest import config_data, model_data, team_data

INSTANCE = "ml.m5.xlarge"


@cache
def _spec(fraction: str = "0.7") -> EnvironmentSpec:
    config = config_data(**{"mlplat:serving": {"modelMemoryFraction": fraction}})
    return parse_environment("dev", teams=[team_data()], models=[model_data()], config=config)


def _with_models(models: list[ModelDeclaration], fraction: str = "0.7") -> EnvironmentSpec:
    return _spec(fraction).model_copy(update={"models": tuple(models)})


def _model(name: str, **changes) -> ModelDeclaration:
    return ModelDeclaration.model_validate(model_data(name=name, **changes))


settings_of_a_model = st.fixed_dictionaries(
    {
        "min_instances": st.integers(1, 4),
        "extra_instances": st.integers(0, 4),
        "target": st.integers(1, 5000),
        "capture": st.integers(0, 100),
    }
)


@settings(max_examples=40, deadline=None)
@given(st.lists(settings_of_a_model, min_size=1, max_size=5))
def test_a_shared_endpoint_serves_its_most_demanding_model(declared):
    models = [
        _model(
            f"model-{index}",
            resources={"memory_mb": 256},
            scaling={
                "min_instances": d["min_instances"],
                "max_instances": d["min_instances"] + d["extra_instances"],
                "target_invocations_per_instance": d["target"],
            },
            data_capture_percent=d["capture"],
        )
        for index, d in enumerate(declared)
    ]
    (plan,) = plan_endpoints(_with_models(models), previous={})  # one group, small models
    assert set(plan.models) == set(models)
    for model in models:  # no model gets less than it declared
        assert plan.min_instances >= model.scaling.min_instances
        assert plan.max_instances >= model.scaling.max_instances
        assert plan.target_invocations_per_instance <= model.scaling.target_invocations_per_instance
        assert plan.data_capture_percent >= model.data_capture_percent
    # ... and the endpoint asks for no more than some model declared.
    assert plan.min_instances in {m.scaling.min_instances for m in models}
    assert plan.max_instances in {m.scaling.max_instances for m in models}
    assert plan.data_capture_percent in {m.data_capture_percent for m in models}
    assert plan.min_instances <= plan.max_instances


def test_models_that_opt_out_of_capture_get_an_endpoint_without_capture():
    models = [_model(name, data_capture_percent=0) for name in ("alpha", "beta")]
    (plan,) = plan_endpoints(_with_models(models), previous={})
    assert plan.data_capture_percent == 0
    sampled = [*models, _model("gamma", data_capture_percent=25)]
    (plan,) = plan_endpoints(_with_models(sampled), previous={})
    assert plan.data_capture_percent == 25


@pytest.mark.parametrize("fraction", ["0.25", "0.5", "0.7", "1"])
def test_capacity_is_the_configured_share_of_the_instance_memory(fraction):
    capacity = endpoint_capacity(INSTANCE, _spec(fraction))
    memory = catalog.SAGEMAKER_INSTANCE_TYPES[INSTANCE].memory_mb
    assert capacity.memory_mb == int(memory * Decimal(fraction))
    assert capacity.max_models == _spec(fraction).settings.serving.max_models_per_endpoint


def test_the_memory_fraction_decides_how_many_models_share_an_endpoint():
    memory = catalog.SAGEMAKER_INSTANCE_TYPES[INSTANCE].memory_mb
    models = [_model(name, resources={"memory_mb": memory * 3 // 10}) for name in "abc"]
    # 3 x 30% of the instance: all on one endpoint at 0.9, two endpoints at 0.7, three at 0.5.
    for fraction, endpoints in (("0.9", 1), ("0.7", 2), ("0.5", 3)):
        plans = plan_endpoints(_with_models(models, fraction), previous={})
        assert len(plans) == endpoints, fraction
        limit = endpoint_capacity(INSTANCE, _spec(fraction)).memory_mb
        for plan in plans:
            assert sum(m.resources.memory_mb for m in plan.models) <= limit


def test_a_model_beyond_the_share_of_its_instance_is_refused():
    memory = catalog.SAGEMAKER_INSTANCE_TYPES[INSTANCE].memory_mb
    too_big = _model("big", resources={"memory_mb": memory * 6 // 10})
    plan_endpoints(_with_models([too_big], "0.7"), previous={})  # fits 70%
    with pytest.raises(ValueError, match="model 'big': resources.memory_mb: needs"):
        plan_endpoints(_with_models([too_big], "0.5"), previous={})


# --- the placement lock ------------------------------------------------------------------------

GROUP = GroupKey("fraud", "img/sklearn:1.2-1", "ml.m5.xlarge")
CAPACITY = Capacity(memory_mb=1000, max_models=4)


def _hosted(assignment: dict[str, str], fleet: list[Item]) -> dict[str, int]:
    used: dict[str, int] = {}
    for item in fleet:
        used[assignment[item.name]] = used.get(assignment[item.name], 0) + item.memory_mb
    return used


fleet_of_one_group = st.lists(
    st.builds(
        Item,
        name=st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True),
        group=st.just(GROUP),
        memory_mb=st.integers(1, CAPACITY.memory_mb),
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda item: item.name,
)


@settings(max_examples=200, deadline=None)  # the machine is shared: time is no property here
@given(fleet_of_one_group, st.data())
def test_a_locked_model_that_grew_never_overfills_its_endpoint(fleet, data):
    lock = assign(fleet, {GROUP: CAPACITY}, "dev")
    grown = data.draw(st.sampled_from(fleet))
    bigger = Item(grown.name, GROUP, data.draw(st.integers(grown.memory_mb, CAPACITY.memory_mb)))
    after_fleet = [bigger if item.name == grown.name else item for item in fleet]
    after = assign(after_fleet, {GROUP: CAPACITY}, "dev", previous=lock)
    assert set(after) == set(lock)
    assert all(used <= CAPACITY.memory_mb for used in _hosted(after, after_fleet).values())
    # Models on other endpoints than the one that grew stay where they were. (On its own
    # endpoint, which model moves depends on name order, not on which one grew: see the report.)
    assert {n: e for n, e in after.items() if lock[n] != lock[grown.name]} == {
        n: e for n, e in lock.items() if e != lock[grown.name]
    }


def test_a_model_that_grew_past_its_endpoint_moves_to_one_with_room():
    small, neighbour = Item("small", GROUP, 300), Item("neighbour", GROUP, 600)
    lock = assign([small, neighbour], {GROUP: CAPACITY}, "dev")
    assert lock["small"] == lock["neighbour"]
    grown = Item("small", GROUP, 900)
    after = assign([grown, neighbour], {GROUP: CAPACITY}, "dev", previous=lock)
    assert after["neighbour"] == lock["neighbour"]
    assert after["small"] != lock["small"]


@settings(max_examples=200, deadline=None)  # the machine is shared: time is no property here
@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.integers(0, 5), min_size=1, max_size=8
    ),
    st.booleans(),
)
def test_a_new_model_joins_the_lowest_numbered_shard_with_room(shards_of, fits_nowhere):
    """Whatever order the lock lists its shards in (names, not numbers, order the lock)."""
    locked = [Item(name, GROUP, 10) for name in shards_of]
    lock = {name: GROUP.endpoint_name("dev", shard) for name, shard in shards_of.items()}
    capacity = Capacity(memory_mb=10_000, max_models=100)
    newcomer = Item("zzzzzzzz", GROUP, 9_999 if fits_nowhere else 10)
    placed = assign([*locked, newcomer], {GROUP: capacity}, "dev", previous=lock)
    used = set(shards_of.values())
    expected = min(set(range(len(used) + 1)) - used) if fits_nowhere else min(used)
    assert placed["zzzzzzzz"] == GROUP.endpoint_name("dev", expected)
    assert {name: placed[name] for name in lock} == lock


# --- what a plan carries -------------------------------------------------------------------------


def test_each_plan_names_the_endpoint_and_group_its_models_were_placed_in():
    models = [
        _model("cpu-a", resources={"memory_mb": 256}),
        _model("cpu-b", resources={"memory_mb": 256}, framework_version="1.0-1"),
        _model(
            "gpu-a",
            framework="pytorch",
            framework_version="2.3",
            instance_type="ml.g5.xlarge",
            resources={"memory_mb": 256, "gpus": 1},
        ),
    ]
    spec = _with_models(models)
    plans = plan_endpoints(spec, previous={})
    assert len(plans) == 3  # another framework version is another image, so another endpoint
    assignment = place_models(spec, previous={})
    for plan in plans:
        key = group_key(plan.models[0], spec)
        assert (plan.team, plan.image, plan.instance_type) == (
            key.team,
            key.image,
            key.instance_type,
        )
        assert all(assignment[m.name] == plan.endpoint_name for m in plan.models)
        assert plan.uses_gpu is any(m.uses_gpu for m in plan.models)
    assert sorted(p.endpoint_name for p in plans) == [p.endpoint_name for p in plans]


def test_the_serving_image_follows_the_instance_type():
    """A CPU model on a GPU instance gets the framework's GPU build, on a CPU instance its CPU
    build (image_uris picks by instance type)."""
    images = {
        instance: serving_image(
            _model(
                "torch",
                framework="pytorch",
                framework_version="2.3",
                instance_type=instance,
            ),
            _spec(),
        )
        for instance in ("ml.m5.xlarge", "ml.g5.xlarge")
    }
    assert "cpu" in images["ml.m5.xlarge"] and "gpu" in images["ml.g5.xlarge"]
    assert all(":2.3-" in image for image in images.values())


def test_planning_without_a_lock_argument_reads_the_committed_lock(monkeypatch, tmp_path):
    import components.serving.placement as placement

    monkeypatch.setattr(placement, "PROJECT_ROOT", tmp_path)
    (tmp_path / "stacks").mkdir()
    model = _model("scorer", resources={"memory_mb": 256})
    spec = _with_models([model])
    shard_five = group_key(model, spec).endpoint_name("dev", 5)
    write_placement_lock("dev", {"scorer": shard_five})
    (plan,) = plan_endpoints(spec)
    assert plan.endpoint_name == shard_five
    assert place_models(spec, {"scorer": shard_five}) == {"scorer": shard_five}
    # A lock file without assignments places as if there were none.
    placement_lock_path("dev").write_text("{}")
    assert read_placement_lock("dev") == {}
    (plan,) = plan_endpoints(spec)
    assert plan.endpoint_name == group_key(model, spec).endpoint_name("dev", 0)


def test_a_lock_entry_that_is_not_a_numbered_shard_of_the_group_is_ignored():
    item = Item("scorer", GROUP, 10)
    for stale in (GROUP.endpoint_prefix("dev") + "-old", "mlplat-dev-elsewhere-1"):
        placed = assign([item], {GROUP: CAPACITY}, "dev", previous={"scorer": stale})
        assert placed == {"scorer": GROUP.endpoint_name("dev", 0)}


@pytest.mark.parametrize("length", range(30, 41))
def test_long_team_names_use_the_whole_name_budget_without_a_double_hyphen(length):
    team = ("ab-" * 20)[:length].rstrip("-") or "a"
    group = GroupKey(team, "img/sklearn:1.2-1", "ml.m5.xlarge")
    for environment in ("dev", "staging", "prod"):
        longest = group.endpoint_name(environment, 999)
        assert "--" not in longest
        head = f"mlplat-{environment}-{team}"
        if len(head) > 50:  # cut to leave room for "-<hash>-999" and not one character more
            assert len(longest) == 63 - head[:50].endswith("-")  # a hyphen at the cut is dropped
        assert len(longest) <= 63


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_rewriting_an_unchanged_lock_leaves_the_committed_file_byte_for_byte(
    environment, monkeypatch, tmp_path
):
    """`mlplat models place` on an unchanged stack must not churn the committed lock file; one
    model per line keeps every later change a one-line diff in review."""
    import components.serving.placement as placement

    committed = placement_lock_path(environment).read_bytes()
    assignment = read_placement_lock(environment)
    monkeypatch.setattr(placement, "PROJECT_ROOT", tmp_path)
    (tmp_path / "stacks").mkdir()
    written = write_placement_lock(environment, dict(reversed(assignment.items())))
    assert written.read_bytes() == committed
    lines = written.read_text().splitlines()
    assert all(sum(f'"{model}":' in line for line in lines) == 1 for model in assignment)
