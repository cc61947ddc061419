"""Placement properties on generated fleets: what may share an endpoint does, every endpoint holds
and satisfies its models on a type they allow, and one model's change (added, removed, grown,
rescaled, recaptured, constrained) moves no other model and changes no endpoint another model is
on: neither its instance type nor its settings."""

from __future__ import annotations

import random
import re
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.placement_economics import CONFIG, generated_model, variants, with_models
from components.serving.placement import (
    EndpointSettings,
    PlacementLock,
    group_key,
    offers,
    place,
    plan_endpoints,
)
from infra.declarations import EnvironmentSpec, ModelDeclaration, ServingTarget
from infra.declarations.instance_choice import allowed_instance_types
from infra.loader import parse_environment
from tests.foundation.conftest import model_data

TEAMS = ["fraud", "growth", "search"]


@cache
def _base() -> EnvironmentSpec:
    models = [generated_model(random.Random(0), 0, TEAMS)]
    teams = [{"name": t, "monthly_budget_usd": 10_000} for t in TEAMS]
    return parse_environment("dev", teams=teams, models=models, config=CONFIG)


def fleet(seed: int, count: int) -> EnvironmentSpec:
    """``count`` models drawn from the benchmark's skewed mix (valid: the benchmark validates
    the same mix through the loader)."""
    rng = random.Random(seed)
    models = [
        ModelDeclaration.model_validate(generated_model(rng, index, TEAMS))
        for index in range(count)
    ]
    return _base().model_copy(update={"models": tuple(models)})


fleets = st.builds(fleet, st.integers(0, 10_000), st.integers(1, 40))


def _endpoint_of(lock: PlacementLock, model: str):
    return lock.endpoints[lock.models[model]]


@settings(max_examples=60, deadline=None)
@given(fleets)
def test_every_endpoint_holds_and_satisfies_its_models_on_a_type_they_allow(spec):
    lock = place(spec, PlacementLock())
    models = spec.models_served_by(ServingTarget.SAGEMAKER_MME)
    assert set(lock.models) == {m.name for m in models}
    capacity = offers(spec)
    hosted: dict[str, list[ModelDeclaration]] = {}
    for model in models:
        hosted.setdefault(lock.models[model.name], []).append(model)
    for endpoint, on_it in hosted.items():
        record = lock.endpoints[endpoint]
        assert len({group_key(m, spec) for m in on_it}) == 1  # one team, image and kind
        assert (
            sum(m.resources.memory_mb for m in on_it) <= capacity[record.instance_type].capacity_mb
        )
        assert len(on_it) <= spec.settings.serving.max_models_per_endpoint
        for model in on_it:
            allowed = {t.name for t in allowed_instance_types(model, "us-east-1")}
            assert record.instance_type in allowed, (model.name, record)
            assert record.settings.satisfies(model), (model.name, record)
        assert len(endpoint) <= 63 and re.fullmatch(r"[a-zA-Z0-9-]+", endpoint)
    assert set(lock.endpoints) == set(hosted)  # no record without a model


@settings(max_examples=30, deadline=None)
@given(fleets, st.randoms(use_true_random=False))
def test_placement_does_not_depend_on_declaration_order(spec, rng):
    shuffled = list(spec.models)
    rng.shuffle(shuffled)
    reordered = spec.model_copy(update={"models": tuple(shuffled)})
    assert place(spec, PlacementLock()) == place(reordered, PlacementLock())


def _reach(before: PlacementLock, after: PlacementLock, changed: str) -> tuple[set, set]:
    """Other models that moved; endpoints hosting another model whose record changed."""
    others = [m for m in before.models if m != changed and m in after.models]
    moved = {m for m in others if after.models[m] != before.models[m]}
    touched = {
        before.models[m] for m in others if _endpoint_of(after, m) != _endpoint_of(before, m)
    }
    return moved, touched


@settings(max_examples=60, deadline=None)
@given(fleets, st.data())
def test_one_models_change_moves_no_other_model_and_touches_no_other_endpoint(spec, data):
    lock = place(spec, PlacementLock())
    model = data.draw(st.sampled_from(spec.models))
    for changed in variants(model):  # removed, added, grown, rescaled, recaptured
        after = place(with_models(spec, changed, model.name), lock)
        moved, touched = _reach(lock, after, model.name)
        assert not moved and not touched, (changed, moved, touched)
        # Every endpoint an other model is on keeps its name, type and settings, so its
        # SageMaker model, endpoint configuration, endpoint and scaling stay as they are.
        for name in {lock.models[m] for m in lock.models if m != model.name} & set(after.endpoints):
            assert after.endpoints[name] == lock.endpoints[name]


@settings(max_examples=30, deadline=None)
@given(fleets, st.lists(st.integers(0, 10_000), min_size=1, max_size=4))
def test_a_history_of_single_changes_never_moves_a_bystander(spec, seeds):
    """Changes applied one after another through the lock, as `models place` commits them."""
    lock = place(spec, PlacementLock())
    for seed in seeds:
        rng = random.Random(seed)
        if not spec.models:
            break
        model = rng.choice(spec.models)
        changed = rng.choice(list(variants(model)))
        spec = with_models(spec, changed, model.name)
        after = place(spec, lock)
        moved, touched = _reach(lock, after, model.name)
        assert not moved and not touched
        lock = after


def test_a_model_alone_on_its_endpoint_raises_its_settings_in_place():
    """Its endpoint follows it upwards (an update of its own scaling or capture, not a new
    endpoint); asking for less leaves the endpoint as it is, for `--rebalance`."""
    model = _sk("alone", scaling={"min_instances": 1, "max_instances": 2}, data_capture_percent=10)
    spec = _base().model_copy(update={"models": (model,)})
    lock = place(spec, PlacementLock())
    endpoint = lock.models["alone"]
    for changes in (
        {"scaling": {"min_instances": 2, "max_instances": 2}},
        {"scaling": {"min_instances": 1, "max_instances": 3}},
        {
            "scaling": {
                "min_instances": 1,
                "max_instances": 2,
                "target_invocations_per_instance": 999,
            }
        },
        {"data_capture_percent": 11},
    ):
        changed = _sk(
            "alone",
            **(
                {"scaling": {"min_instances": 1, "max_instances": 2}, "data_capture_percent": 10}
                | changes
            ),
        )
        after = place(spec.model_copy(update={"models": (changed,)}), lock)
        assert after.models["alone"] == endpoint
        assert after.endpoints[endpoint].settings == EndpointSettings.of(changed)
        assert after.endpoints[endpoint].instance_type == lock.endpoints[endpoint].instance_type
    less = _sk("alone", scaling={"min_instances": 1, "max_instances": 1}, data_capture_percent=0)
    after = place(spec.model_copy(update={"models": (less,)}), lock)
    assert after.endpoints == lock.endpoints


def _sk(name: str, **changes) -> ModelDeclaration:
    return ModelDeclaration.model_validate(model_data(name=name, instance_type=None, **changes))


def test_a_shared_endpoint_keeps_its_settings_when_a_model_on_it_leaves_or_relaxes():
    two = _sk("needs-two", scaling={"min_instances": 2, "max_instances": 4})
    one = _sk("needs-one", scaling={"min_instances": 1, "max_instances": 2})
    both = _base().model_copy(update={"models": (two, one)})
    lock = place(both, PlacementLock())
    assert lock.models["needs-two"] == lock.models["needs-one"]  # they share: it is cheaper
    shared = lock.endpoints[lock.models["needs-one"]]
    assert (shared.settings.min_instances, shared.settings.max_instances) == (2, 4)
    # needs-two leaves: needs-one's endpoint stays as it was (`--rebalance` would shrink it).
    alone = place(both.model_copy(update={"models": (one,)}), lock)
    assert alone.endpoints[lock.models["needs-one"]] == shared
    # needs-two asks for less: nothing changes either.
    relaxed = _sk("needs-two", scaling={"min_instances": 1, "max_instances": 2})
    after = place(both.model_copy(update={"models": (relaxed, one)}), lock)
    assert (after.models, after.endpoints) == (lock.models, lock.endpoints)
    # needs-one asks for more than the endpoint gives: it leaves, needs-two stays as it was.
    more = _sk("needs-one", scaling={"min_instances": 3, "max_instances": 4})
    after = place(both.model_copy(update={"models": (two, more)}), lock)
    assert after.models["needs-two"] == lock.models["needs-two"]
    assert after.endpoints[lock.models["needs-two"]] == shared
    assert after.models["needs-one"] != lock.models["needs-one"]
    assert _endpoint_of(after, "needs-one").settings.min_instances == 3


def test_plans_carry_the_recorded_type_and_settings():
    spec = fleet(7, 30)
    lock = place(spec, PlacementLock())
    for plan in plan_endpoints(spec, lock):
        record = lock.endpoints[plan.endpoint_name]
        assert plan.instance_type == record.instance_type
        assert (
            plan.min_instances,
            plan.max_instances,
            plan.target_invocations_per_instance,
            plan.data_capture_percent,
        ) == (
            record.settings.min_instances,
            record.settings.max_instances,
            record.settings.target_invocations_per_instance,
            record.settings.data_capture_percent,
        )
        assert {m.name for m in plan.models} == {
            m for m, e in lock.models.items() if e == plan.endpoint_name
        }
