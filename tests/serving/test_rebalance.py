"""Rebalancing on hand-built locks: which old endpoint a new one is named after, that fresh
endpoints never take a name the lock used, that an equal-cost packing moves nothing, and the
report's figures."""

from __future__ import annotations

from components.serving.placement import PlacementLock, Placer, group_key, place
from components.serving.rebalance import Rebalance, plan_rebalance, rebalance
from tests.serving.test_placement import _base, _sk


def _spec(*names: str, per_endpoint: int = 200):
    """Small models of one team, kind and settings: placement may pack them together."""
    base = _base()
    serving = base.settings.serving.model_copy(update={"max_models_per_endpoint": per_endpoint})
    settings = base.settings.model_copy(update={"serving": serving})
    models = tuple(_sk(name, resources={"memory_mb": 100}) for name in names)
    return base.model_copy(update={"models": models, "settings": settings})


def _shard(spec, n: int) -> str:
    return group_key(spec.models[0], spec).endpoint_name(Placer(spec).environment, n)


def _lock(spec, hosted: dict[str, list[str]]) -> PlacementLock:
    """A lock placing ``hosted`` (endpoint -> models), each endpoint with the record placement
    gives these models together (the same type and settings for any of them)."""
    (record,) = set(place(spec, PlacementLock()).endpoints.values())
    memory = {m.name: m.resources.memory_mb for m in spec.models}
    return PlacementLock(
        models={m: endpoint for endpoint, models in hosted.items() for m in models},
        endpoints={endpoint: record for endpoint in hosted},
        memory_mb={m: memory[m] for models in hosted.values() for m in models},
    )


def test_a_merged_endpoint_keeps_the_name_of_the_one_it_shares_most_models_with():
    spec = _spec("a", "b", "c", "d")
    first, second = _shard(spec, 0), _shard(spec, 1)
    previous = _lock(spec, {first: ["a"], second: ["b", "c", "d"]})
    after = rebalance(spec, previous)
    assert after.models == dict.fromkeys("abcd", second)  # one endpoint, named after 3 of 4
    plan = plan_rebalance(spec, previous)
    assert plan.moves == {"a": (first, second)}
    assert (plan.deleted, plan.created) == ((first,), ())
    assert plan.monthly_saving > 0


def test_fresh_endpoints_take_numbers_neither_the_lock_nor_each_other_used():
    spec = _spec("a", "b", per_endpoint=1)
    used = _shard(spec, 0)
    # A version-1 lock: models only, no records, so no new endpoint is named after an old one.
    previous = PlacementLock(models={"a": used, "b": used})
    after = rebalance(spec, previous)
    assert set(after.endpoints) == {_shard(spec, 1), _shard(spec, 2)}
    assert len(set(after.models.values())) == 2


def test_a_packing_that_saves_nothing_moves_nothing():
    """Two endpoints of two and one, as cheap as any packing: rebalancing would only rename and
    reload (a fresh packing pairs them differently), so nothing moves."""
    spec = _spec("x", "y", "z", per_endpoint=2)
    previous = _lock(spec, {_shard(spec, 0): ["x", "z"], _shard(spec, 1): ["y"]})
    assert rebalance(spec, previous) != previous  # a different packing exists, at equal cost
    plan = plan_rebalance(spec, previous)
    assert plan.after == previous and plan.moves == {}
    assert plan.monthly_saving == 0


def test_the_report_names_each_replaced_endpoint_with_its_type_and_size_in_cents():
    spec = _spec("a", "b", "c", "d")
    first, second = _shard(spec, 0), _shard(spec, 1)
    before = _lock(spec, {first: ["a"], second: ["b", "c", "d"]})
    after = _lock(spec, {_shard(spec, 2): ["a", "b", "c", "d"]})
    record = before.endpoints[first]
    report = Rebalance(before, after, 300.456, 150.224).as_json()

    def described(name: str) -> dict:
        return {
            "endpoint": name,
            "instanceType": record.instance_type,
            "minInstances": record.settings.min_instances,
        }

    assert report["deletedEndpoints"] == [described(first), described(second)]
    assert report["createdEndpoints"] == [described(_shard(spec, 2))]
    assert report["moves"] == [
        {"model": m, "from": before.models[m], "to": _shard(spec, 2)} for m in "abcd"
    ]
    assert (report["monthlyUsdBefore"], report["monthlyUsdAfter"]) == (300.46, 150.22)
    assert report["monthlySavingUsd"] == 150.23


def test_an_endpoint_record_no_model_is_on_is_neither_reused_nor_in_the_way():
    """A record left without models (a model's line taken out of the lock by hand) has the very
    type and settings of the fresh endpoint, but keeps none of its models: the fresh endpoint
    takes a new number, and the record's endpoint, which may still exist, keeps its name."""
    spec = _spec("a")
    orphan = _lock(spec, {_shard(spec, 0): []})
    assert not orphan.models and orphan.endpoints
    assert rebalance(spec, orphan).models == {"a": _shard(spec, 1)}
