"""Placement at its edges: a model no type can hold, what a lock costs, plans from a given lock,
each plan's team, version-1 endpoints read one by one, and how an empty lock is written."""

from __future__ import annotations

import json

import pytest

from components.serving import placement_lock
from components.serving.placement import (
    HOURS_PER_MONTH,
    EndpointSettings,
    PlacementLock,
    Placer,
    _legacy_key,
    group_key,
    monthly_cost,
    offers,
    place,
    plan_endpoints,
    serving_image,
)
from components.serving.placement_lock import (
    EndpointRecord,
    lock_text,
    parse_lock,
    placement_lock_path,
    read_placement_lock,
)
from infra import catalog
from infra.declarations import ModelDeclaration, Problem, SpecError
from tests.foundation.conftest import model_data
from tests.serving.test_placement import _base, _sk, fleet


def _with(*models: ModelDeclaration):
    return _base().model_copy(update={"models": models})


def test_a_model_no_allowed_type_can_hold_is_refused_by_name_and_field():
    """The loader refuses such a model first; placement says the same for a spec built without
    it (a program or test building declarations directly)."""
    huge = _sk("huge", resources={"memory_mb": 10**6})
    with pytest.raises(SpecError) as refused:
        place(_with(_sk("small"), huge), PlacementLock())
    assert refused.value.problems == [
        Problem(
            "resources.memory_mb",
            "needs 1000000 MB; no instance type it may run on leaves that much to models",
            subject="model 'huge'",
            field="resources.memory_mb",
        )
    ]


def test_a_locks_monthly_cost_is_each_endpoints_price_times_its_minimum_count():
    prices = catalog.hosting_prices(_base().settings.region)
    settings = EndpointSettings(
        min_instances=3,
        max_instances=4,
        target_invocations_per_instance=1000,
        data_capture_percent=0,
    )
    lock = PlacementLock(
        models={"a": "E0", "b": "E1"},
        endpoints={
            "E0": EndpointRecord("ml.m5.xlarge", settings),
            "E1": EndpointRecord("ml.unpriced.type", settings),  # unpriced: counts nothing
        },
    )
    expected = prices["ml.m5.xlarge"] * HOURS_PER_MONTH * 3
    assert monthly_cost(lock, _base()) == pytest.approx(expected)
    assert monthly_cost(PlacementLock(), _base()) == 0


def test_plans_follow_the_lock_they_are_given_not_the_committed_one():
    spec = _with(_sk("newcomer"))
    fresh = place(spec, PlacementLock())
    (name,) = fresh.endpoints
    moved = name.rsplit("-", 1)[0] + "-7"
    given = PlacementLock(
        models={"newcomer": moved},
        endpoints={moved: fresh.endpoints[name]},
        memory_mb=dict(fresh.memory_mb),
    )
    (plan,) = plan_endpoints(spec, given)
    assert plan.endpoint_name == moved


def test_each_plan_is_for_the_team_of_every_model_on_it():
    spec = fleet(3, 30)
    plans = plan_endpoints(spec, PlacementLock())
    assert len({plan.team for plan in plans}) > 1
    for plan in plans:  # one team and one container per endpoint
        assert {model.team for model in plan.models} == {plan.team}
        assert {serving_image(model, spec) for model in plan.models} == {plan.image}


def test_a_version_1_endpoint_is_read_from_its_own_models_only():
    """Two v1 endpoints of one group (same team, image and declared type) with models of
    different scaling: each is migrated with its own models' settings."""

    def declared(name: str, low: int) -> ModelDeclaration:
        scaling = {"min_instances": low, "max_instances": low + 1}
        return ModelDeclaration.model_validate(model_data(name=name, scaling=scaling))

    one, three = declared("one", 1), declared("three", 3)
    spec = _with(one, three)
    placer = Placer(spec)
    key = _legacy_key(one, spec, one.effective_instance_type)
    first, second = (key.endpoint_name(placer.environment, n) for n in (0, 1))
    assert placer.legacy_record(first, {"one"}) == EndpointRecord(
        one.effective_instance_type, EndpointSettings.serving([one])
    )
    assert placer.legacy_record(second, {"three"}).settings.min_instances == 3
    assert placer.legacy_record(first, {"gone"}) is None


def test_an_empty_lock_is_written_with_empty_sections_and_reads_back_empty():
    text = lock_text("dev", PlacementLock())
    assert '  "models": {},\n  "endpoints": {}\n}\n' in text
    assert parse_lock(json.loads(text)) == PlacementLock()


def test_a_lock_that_is_not_json_names_its_file_in_the_problem(monkeypatch, tmp_path):
    monkeypatch.setattr(placement_lock, "PROJECT_ROOT", tmp_path)
    (tmp_path / "stacks").mkdir()
    placement_lock_path("dev").write_text('{"models": ')
    with pytest.raises(SpecError) as raised:
        read_placement_lock("dev")
    (problem,) = raised.value.problems
    assert problem.path == "dev.placement.json"
    assert problem.message.startswith("is not JSON: ")


def test_every_malformed_model_entry_of_a_lock_is_reported():
    record = {
        "instanceType": "ml.m5.xlarge",
        "minInstances": 1,
        "maxInstances": 2,
        "targetInvocationsPerInstance": 1000,
        "dataCapturePercent": 0,
    }
    document = {"version": 2, "endpoints": {"E": record}, "models": {"a": "E", "b": {"x": 1}}}
    with pytest.raises(SpecError) as refused:
        parse_lock(document)
    shape = 'must be {"endpoint": <name>, "memoryMb": <MB>}'
    assert refused.value.problems == [Problem("models.a", shape), Problem("models.b", shape)]


def _gpu(name: str) -> ModelDeclaration:
    data = model_data(name=name, framework="pytorch", framework_version="2.3")
    return ModelDeclaration.model_validate(
        data | {"resources": {"memory_mb": 2000, "gpus": 1}, "instance_type": "ml.g4dn.xlarge"}
    )


def test_endpoints_named_by_an_earlier_run_keep_their_models():
    """Names written to a lock before must be recognised after: a change to how a group's name is
    derived (team, image, cpu or gpu) would move every model of such an endpoint to a new one,
    replacing it. These names were written by this code (2026-11-30); a new SageMaker SDK image
    URI would change them too, and this test says so."""
    cpu, gpu = _sk("a"), _gpu("g")
    spec = _with(cpu, gpu)
    lock = place(spec, PlacementLock())
    assert lock.models == {"a": "mlplat-dev-fraud-4ea9234b-0", "g": "mlplat-dev-fraud-8868d017-0"}
    assert place(spec, lock) == lock


def test_a_version_1_endpoint_no_model_matches_is_placed_afresh():
    spec = _with(_sk("a"))
    lock = place(spec, parse_lock({"endpoints": {"a": "mlplat-dev-elsewhere-0"}}))
    assert lock == place(spec, PlacementLock())


@pytest.mark.parametrize(("extra_mb", "joins"), [(0, True), (1, False)])
def test_a_newcomer_joins_an_endpoint_up_to_exactly_its_capacity(extra_mb, joins):
    first = _sk("first", resources={"memory_mb": 5000})
    before = place(_with(first), PlacementLock())
    record = before.endpoints[before.models["first"]]
    room = offers(_with(first))[record.instance_type].capacity_mb - 5000
    newcomer = _sk("newcomer", resources={"memory_mb": room + extra_mb})
    after = place(_with(first, newcomer), before)
    assert (after.models["newcomer"] == before.models["first"]) is joins


def test_a_newcomer_never_joins_an_endpoint_holding_the_most_models_allowed():
    base = _base()
    serving = base.settings.serving.model_copy(update={"max_models_per_endpoint": 2})
    spec = base.model_copy(
        update={"settings": base.settings.model_copy(update={"serving": serving})}
    )
    two = spec.model_copy(update={"models": (_sk("a"), _sk("b"))})
    before = place(two, PlacementLock())
    assert before.models["a"] == before.models["b"]
    after = place(spec.model_copy(update={"models": (_sk("a"), _sk("b"), _sk("c"))}), before)
    assert after.models["c"] != after.models["a"]


def test_a_grown_model_does_not_unplace_the_models_after_it():
    small = {"a": 100, "b": 100, "c": 100}
    before = place(
        _with(*(_sk(n, resources={"memory_mb": mb}) for n, mb in small.items())), PlacementLock()
    )
    assert len(set(before.models.values())) == 1
    grown = small | {"a": 200}  # a grew but still fits; b and c come after it in name order
    after = place(_with(*(_sk(n, resources={"memory_mb": mb}) for n, mb in grown.items())), before)
    assert after.models == before.models


def test_newcomers_join_largest_first_so_the_room_goes_to_the_one_that_needs_it():
    first = _sk("first", resources={"memory_mb": 1000})
    before = place(_with(first), PlacementLock())
    record = before.endpoints[before.models["first"]]
    room = offers(_with(first))[record.instance_type].capacity_mb - 1000
    big = _sk("big", resources={"memory_mb": room - 10})
    small = _sk("small", resources={"memory_mb": 20})
    after = place(_with(first, big, small), before)
    assert after.models["big"] == before.models["first"]
    assert after.models["small"] != before.models["first"]


@pytest.mark.parametrize(
    "knows",
    [
        # an endpoint record no model points to any more (a model's line taken out by hand)
        lambda name: {"version": 2, "models": {}, "endpoints": {name: _RECORD}},
        # a version-1 entry of a model no longer declared
        lambda name: {"endpoints": {"gone": name}},
    ],
    ids=["recorded", "hosted"],
)
def test_a_new_endpoint_never_takes_a_name_the_lock_knows(knows):
    """An endpoint the lock names may still exist in SageMaker (names are unique per account and
    region), so a new one is numbered past it whether a record or a model names it."""
    model = _sk("a")
    spec = _with(model)
    known = group_key(model, spec).endpoint_name("dev", 0)
    lock = place(spec, parse_lock(knows(known)))
    assert lock.models["a"] == group_key(model, spec).endpoint_name("dev", 1)


_RECORD = {
    "instanceType": "ml.m5.large",
    "minInstances": 1,
    "maxInstances": 2,
    "targetInvocationsPerInstance": 1000,
    "dataCapturePercent": 0,
}


def test_a_type_without_a_price_is_chosen_only_by_a_model_that_insists_on_it():
    """A declared minimum may be a type the price snapshot lacks: a priced type that satisfies
    it is chosen; a model that must run on that type exactly gets it."""
    prices = catalog.hosting_prices(_base().settings.region)
    unpriced = next(
        name
        for name in catalog.APPROVED_ENDPOINT_TYPES
        if name not in prices and not catalog.SAGEMAKER_INSTANCE_TYPES[name].has_gpu
    )
    minimum = ModelDeclaration.model_validate(model_data(name="minimum", instance_type=unpriced))
    exact = ModelDeclaration.model_validate(
        model_data(name="exact", instance_type=unpriced, instance_type_mode="exact")
    )
    (alone,) = place(_with(minimum), PlacementLock()).endpoints.values()
    assert alone.instance_type in prices
    (insisted,) = place(_with(exact), PlacementLock()).endpoints.values()
    assert insisted.instance_type == unpriced


def test_a_model_needing_more_instances_is_not_shared_when_its_copies_would_cost_more():
    """An endpoint runs its most demanding model's minimum count of instances, each the size the
    largest share needs: a small model wanting three instances and a large one wanting one cost
    less apart (three small instances and one large) than together (three large ones)."""
    spread = _sk(
        "spread", resources={"memory_mb": 500}, scaling={"min_instances": 3, "max_instances": 3}
    )
    large = _sk("large", resources={"memory_mb": 9000})
    spec = _with(spread, large)
    lock = place(spec, PlacementLock())
    assert lock.models["spread"] != lock.models["large"]
    offered, allowed = offers(spec), Placer(spec).allowed

    def cheapest(model: ModelDeclaration) -> float:
        return min(
            offered[t].hourly_usd
            for t in allowed[model.name]
            if offered[t].capacity_mb >= model.resources.memory_mb
        )

    expected = (3 * cheapest(spread) + cheapest(large)) * HOURS_PER_MONTH
    assert monthly_cost(lock, spec) == pytest.approx(expected)
