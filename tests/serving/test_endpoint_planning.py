"""Endpoint planning and capacity, directly: co-hosted models with different settings, both sides
of every setting's boundary, the configured share of memory, declared minimum and exact types,
and how new models and new endpoints find their place relative to the lock."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.serving import placement_lock
from components.serving.placement import (
    EndpointRecord,
    EndpointSettings,
    GroupKey,
    PlacementLock,
    group_key,
    offers,
    place,
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


@cache
def _spec(fraction: str = "0.7") -> EnvironmentSpec:
    config = config_data(**{"mlplat:serving": {"modelMemoryFraction": fraction}})
    return parse_environment("dev", teams=[team_data()], models=[model_data()], config=config)


def _with_models(models, fraction: str = "0.7") -> EnvironmentSpec:
    return _spec(fraction).model_copy(update={"models": tuple(models)})


def _model(name: str, **changes) -> ModelDeclaration:
    return ModelDeclaration.model_validate(
        model_data(name=name, **({"instance_type": None} | changes))
    )


# --- settings: what an endpoint does for each model on it ---------------------------------------

BASE = {"scaling": {"min_instances": 2, "max_instances": 4, "target_invocations_per_instance": 500}}


@pytest.mark.parametrize(
    ("field", "endpoint_value", "satisfied"),
    [
        ("min_instances", 2, True),
        ("min_instances", 1, False),  # one instance fewer than the model's floor
        ("max_instances", 4, True),
        ("max_instances", 3, False),
        ("target_invocations_per_instance", 500, True),
        ("target_invocations_per_instance", 501, False),  # scales out later than it asked
        ("data_capture_percent", 10, True),
        ("data_capture_percent", 9, False),
    ],
)
def test_an_endpoint_satisfies_a_model_exactly_up_to_each_boundary(
    field, endpoint_value, satisfied
):
    model = _model("m", data_capture_percent=10, **BASE)
    wanted = EndpointSettings.of(model)
    assert wanted == EndpointSettings(2, 4, 500, 10)
    assert wanted.satisfies(model)
    changed = EndpointSettings(**(wanted.__dict__ | {field: endpoint_value}))
    assert changed.satisfies(model) is satisfied


def test_capture_off_satisfies_only_models_that_opt_out():
    opted_out, sampled = _model("a", data_capture_percent=0), _model("b", data_capture_percent=1)
    off = EndpointSettings.of(opted_out)
    assert off.data_capture_percent == 0 and off.satisfies(opted_out)
    assert not off.satisfies(sampled)
    assert EndpointSettings.of(sampled).satisfies(opted_out)  # sampled to 0% when read


settings_of_a_model = st.fixed_dictionaries(
    {
        "min_instances": st.integers(1, 4),
        "extra_instances": st.integers(0, 4),
        "target": st.integers(1, 5000),
        "capture": st.integers(0, 100),
    }
)


def _declared(index: int, d: dict) -> ModelDeclaration:
    return _model(
        f"model-{index}",
        resources={"memory_mb": 256},
        scaling={
            "min_instances": d["min_instances"],
            "max_instances": d["min_instances"] + d["extra_instances"],
            "target_invocations_per_instance": d["target"],
        },
        data_capture_percent=d["capture"],
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(settings_of_a_model, min_size=1, max_size=5))
def test_co_hosted_models_with_different_settings_get_the_least_that_serves_them_all(declared):
    models = [_declared(index, d) for index, d in enumerate(declared)]
    serving = EndpointSettings.serving(models)
    assert all(serving.satisfies(model) for model in models)
    # ... and no more than some model declared: each value is one of theirs.
    assert serving.min_instances in {m.scaling.min_instances for m in models}
    assert serving.max_instances in {m.scaling.max_instances for m in models}
    assert serving.target_invocations_per_instance in {
        m.scaling.target_invocations_per_instance for m in models
    }
    assert serving.data_capture_percent in {m.data_capture_percent for m in models}
    # Placed afresh, every model's endpoint satisfies it; endpoints that host several models
    # with different settings exist whenever that is cheaper, and their plans carry them.
    spec = _with_models(models)
    for plan in plan_endpoints(spec, PlacementLock()):
        settings_ = EndpointSettings(
            plan.min_instances,
            plan.max_instances,
            plan.target_invocations_per_instance,
            plan.data_capture_percent,
        )
        assert settings_ == EndpointSettings.serving(plan.models)
        assert plan.min_instances <= plan.max_instances


def test_models_of_equal_floor_share_one_endpoint_whatever_their_other_settings():
    models = [
        _declared(0, {"min_instances": 1, "extra_instances": 0, "target": 100, "capture": 0}),
        _declared(1, {"min_instances": 1, "extra_instances": 3, "target": 900, "capture": 40}),
    ]
    (plan,) = plan_endpoints(_with_models(models), PlacementLock())
    assert (plan.max_instances, plan.target_invocations_per_instance) == (4, 100)
    assert plan.data_capture_percent == 40  # model-0's captures are sampled out when read


# --- capacity and instance types -------------------------------------------------------------


@pytest.mark.parametrize("fraction", ["0.25", "0.5", "0.7", "1"])
def test_capacity_is_the_configured_share_of_the_instance_memory(fraction):
    capacity = offers(_spec(fraction))
    for name, instance in catalog.SAGEMAKER_INSTANCE_TYPES.items():
        assert capacity[name].capacity_mb == int(instance.memory_mb * Decimal(fraction))


def test_the_endpoint_runs_the_cheapest_type_that_holds_its_models():
    spec = _spec()
    prices = catalog.hosting_prices("us-east-1")
    cpu = catalog.mme_instance_types("us-east-1", gpu=False)
    for memory in (100, 2_000, 6_000, 11_000, 20_000, 40_000):
        (plan,) = plan_endpoints(
            _with_models([_model("m", resources={"memory_mb": memory})]), PlacementLock()
        )
        holding = [t for t in cpu if offers(spec)[t.name].capacity_mb >= memory]
        assert prices[plan.instance_type] == min(prices[t.name] for t in holding), memory


@pytest.mark.parametrize("declared", ["ml.m5.xlarge", "ml.r5.large", "ml.c5.2xlarge"])
def test_a_declared_minimum_is_at_least_met_in_every_dimension(declared):
    (plan,) = plan_endpoints(
        _with_models([_model("m", instance_type=declared, resources={"memory_mb": 100})]),
        PlacementLock(),
    )
    chosen = catalog.SAGEMAKER_INSTANCE_TYPES[plan.instance_type]
    minimum = catalog.SAGEMAKER_INSTANCE_TYPES[declared]
    assert chosen.memory_mb >= minimum.memory_mb and chosen.vcpu >= minimum.vcpu
    prices = catalog.hosting_prices("us-east-1")
    offered = {t.name for t in catalog.mme_instance_types("us-east-1", gpu=False)}
    assert declared not in offered or prices[plan.instance_type] <= prices[declared]


def test_an_exact_type_is_the_type_even_when_dearer_and_others_may_join_it():
    exact = _model("exact", instance_type="ml.m5.2xlarge", instance_type_mode="exact")
    small = _model("small", resources={"memory_mb": 100})
    (plan,) = plan_endpoints(_with_models([exact, small]), PlacementLock())
    assert plan.instance_type == "ml.m5.2xlarge"  # small rides along: cheaper than two endpoints
    assert {m.name for m in plan.models} == {"exact", "small"}


def test_burstable_types_are_never_chosen_but_may_be_insisted_on():
    assert not any(
        catalog.is_burstable(t.name)
        for g in (True, False)
        for t in catalog.mme_instance_types("us-east-1", gpu=g)
    )
    insisted = _model("t", instance_type="ml.t2.medium", instance_type_mode="exact")
    (plan,) = plan_endpoints(_with_models([insisted]), PlacementLock())
    assert plan.instance_type == "ml.t2.medium"


def test_gpu_models_run_only_on_the_gpu_types_multi_model_endpoints_support():
    gpu = _model(
        "gpu",
        framework="pytorch",
        framework_version="2.3",
        resources={"memory_mb": 2_000, "gpus": 1},
    )
    (plan,) = plan_endpoints(_with_models([gpu]), PlacementLock())
    assert plan.instance_type in catalog.MME_GPU_INSTANCE_TYPES
    assert plan.uses_gpu and "tritonserver" in plan.image


def test_the_serving_image_follows_the_instance_type():
    """A CPU model on a GPU instance gets the framework's GPU build, on a CPU instance its CPU
    build (image_uris picks by instance type)."""
    torch = _model("torch", framework="pytorch", framework_version="2.3")
    images = {t: serving_image(torch, _spec(), t) for t in ("ml.m5.xlarge", "ml.g5.xlarge")}
    assert "cpu" in images["ml.m5.xlarge"] and "gpu" in images["ml.g5.xlarge"]
    # One image per kind whatever the type: what lets placement choose among them.
    for gpu in (False, True):
        kinds = {
            serving_image(torch, _spec(), t.name)
            for t in catalog.mme_instance_types("us-east-1", gpu=gpu)
        }
        assert len(kinds) == 1


# --- relative to the lock ------------------------------------------------------------------------

GROUP_RECORD = EndpointRecord("ml.m5.large", EndpointSettings(1, 2, 1000, 10))


def _locked(spec, shards: dict[str, int], record=GROUP_RECORD) -> PlacementLock:
    group = group_key(spec.models[0], spec)
    names = {m: group.endpoint_name("dev", n) for m, n in shards.items()}
    return PlacementLock(
        models=names,
        endpoints=dict.fromkeys(names.values(), record),
        memory_mb={m.name: m.resources.memory_mb for m in spec.models if m.name in shards},
    )


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.integers(0, 5), min_size=1, max_size=6
    ),
    st.booleans(),
)
def test_a_new_model_joins_the_fullest_suitable_endpoint_or_opens_one_after_every_shard(
    shards, fits_nowhere
):
    locked = [_model(name, resources={"memory_mb": 10 + len(name)}) for name in shards]
    newcomer = _model("zzzzzzzz", resources={"memory_mb": 6_000 if fits_nowhere else 10})
    spec = _with_models([*locked, newcomer])
    lock = _locked(spec, shards)
    placed = place(spec, lock)
    assert {m: placed.models[m] for m in shards} == dict(lock.models)
    group = group_key(newcomer, spec)
    if fits_nowhere:  # 6,000 MB: more than ml.m5.large leaves (5,734); a new endpoint
        used = set(shards.values())
        expected = min(set(range(len(used) + 1)) - used)
        assert placed.models["zzzzzzzz"] == group.endpoint_name("dev", expected)
    else:
        used = {}
        for m in locked:
            used[lock.models[m.name]] = used.get(lock.models[m.name], 0) + m.resources.memory_mb
        fullest = max(used, key=lambda e: (used[e], e))
        assert placed.models["zzzzzzzz"] == fullest


def test_a_lock_entry_that_is_not_a_numbered_shard_of_the_group_is_ignored():
    model = _model("scorer", resources={"memory_mb": 100})
    spec = _with_models([model])
    group = group_key(model, spec)
    for stale in (group.endpoint_prefix("dev") + "-old", "mlplat-dev-elsewhere-1"):
        lock = PlacementLock({"scorer": stale}, {stale: GROUP_RECORD}, {"scorer": 100})
        assert place(spec, lock).models == {"scorer": group.endpoint_name("dev", 0)}


def test_planning_without_a_lock_argument_reads_the_committed_lock(monkeypatch, tmp_path):
    monkeypatch.setattr(placement_lock, "PROJECT_ROOT", tmp_path)
    (tmp_path / "stacks").mkdir()
    model = _model("scorer", resources={"memory_mb": 256})
    spec = _with_models([model])
    lock = _locked(spec, {"scorer": 5})
    write_placement_lock("dev", lock)
    (plan,) = plan_endpoints(spec)
    assert plan.endpoint_name == group_key(model, spec).endpoint_name("dev", 5)
    assert plan.instance_type == GROUP_RECORD.instance_type
    placement_lock_path("dev").write_text("{}")  # a lock without assignments: as if none
    assert read_placement_lock("dev") == PlacementLock()
    (plan,) = plan_endpoints(spec)
    assert plan.endpoint_name == group_key(model, spec).endpoint_name("dev", 0)


@pytest.mark.parametrize("length", range(30, 41))
def test_long_team_names_use_the_whole_name_budget_without_a_double_hyphen(length):
    team = ("ab-" * 20)[:length].rstrip("-") or "a"
    group = GroupKey(team, "img/sklearn:1.2-1", "cpu")
    for environment in ("dev", "staging", "prod"):
        longest = group.endpoint_name(environment, 999)
        assert "--" not in longest and re.fullmatch(r"[a-zA-Z0-9-]+", longest)
        head = f"mlplat-{environment}-{team}"
        if len(head) > 50:  # cut to leave room for "-<hash>-999" and not one character more
            assert len(longest) == 63 - head[:50].endswith("-")
        assert len(longest) <= 63


def test_a_model_whose_type_constraint_its_endpoint_no_longer_meets_leaves_it_alone():
    small = [_model(n, resources={"memory_mb": 100}) for n in ("a", "b")]
    spec = _with_models(small)
    lock = _locked(spec, {"a": 0, "b": 0})  # both on ml.m5.large
    raised = _model("a", resources={"memory_mb": 100}, instance_type="ml.m5.xlarge")
    after = place(_with_models([raised, small[1]]), lock)
    assert after.models["b"] == lock.models["b"]
    assert after.endpoints[lock.models["b"]] == GROUP_RECORD
    chosen = catalog.SAGEMAKER_INSTANCE_TYPES[after.endpoints[after.models["a"]].instance_type]
    assert catalog.satisfies(chosen, catalog.SAGEMAKER_INSTANCE_TYPES["ml.m5.xlarge"])
    # A newcomer insisting on another type does not join the ml.m5.large endpoint with room.
    exact = _model(
        "c", resources={"memory_mb": 100}, instance_type="ml.c5.large", instance_type_mode="exact"
    )
    after = place(_with_models([*small, exact]), lock)
    assert after.models["c"] not in lock.endpoints
    assert after.endpoints[after.models["c"]].instance_type == "ml.c5.large"


def test_placement_never_chooses_a_type_the_policy_pack_refuses():
    """The CI-green test found it: placement chose ml.c5.large, which the pack's
    sagemaker-instance-type-allowed refused. Offered types are the pack's allowed ones."""
    from fnmatch import fnmatchcase

    from policies.rules.sagemaker import _INSTANCE_TYPES

    allowed = _INSTANCE_TYPES["allowedInstanceTypes"]["default"]
    for region in json.loads(catalog.PRICE_SNAPSHOT.read_text())["regions"]:
        for gpu in (False, True):
            for instance in catalog.mme_instance_types(region, gpu=gpu):
                assert any(fnmatchcase(instance.name, p) for p in allowed), instance.name
