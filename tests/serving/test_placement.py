"""Placement properties: deterministic, one image per endpoint, within capacity, stable."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from components.serving.placement import Capacity, GroupKey, Item, assign

GROUPS = [
    GroupKey("fraud", "img/sklearn:1.2-1", "ml.m5.xlarge"),
    GroupKey("fraud", "img/xgboost:1.7-1", "ml.m5.xlarge"),
    GroupKey("growth", "img/sklearn:1.2-1", "ml.m5.xlarge"),
    GroupKey("growth", "img/triton:24.09", "ml.g5.xlarge"),
]
CAPACITY = Capacity(memory_mb=2048, max_models=3)
CAPACITIES = dict.fromkeys(GROUPS, CAPACITY)

items = st.builds(
    Item,
    name=st.from_regex(r"[a-z][a-z0-9-]{0,11}[a-z0-9]", fullmatch=True),
    group=st.sampled_from(GROUPS),
    memory_mb=st.integers(min_value=1, max_value=CAPACITY.memory_mb),
)
fleets = st.lists(items, max_size=25, unique_by=lambda item: item.name)


def _endpoints(assignment: dict[str, str], fleet: list[Item]) -> dict[str, list[Item]]:
    by_name = {item.name: item for item in fleet}
    hosted: dict[str, list[Item]] = {}
    for name, endpoint in assignment.items():
        hosted.setdefault(endpoint, []).append(by_name[name])
    return hosted


@given(fleets, st.randoms())
def test_deterministic_whatever_the_declaration_order(fleet, random):
    shuffled = list(fleet)
    random.shuffle(shuffled)
    assert assign(fleet, CAPACITIES, "dev") == assign(shuffled, CAPACITIES, "dev")


@given(fleets)
def test_one_group_per_endpoint_within_capacity(fleet):
    assignment = assign(fleet, CAPACITIES, "prod")
    assert set(assignment) == {item.name for item in fleet}
    for endpoint, hosted in _endpoints(assignment, fleet).items():
        assert len({item.group for item in hosted}) == 1  # never mixes images, teams or instances
        assert len(hosted) <= CAPACITY.max_models
        assert sum(item.memory_mb for item in hosted) <= CAPACITY.memory_mb
        assert len(endpoint) <= 63 and re.fullmatch(r"[a-zA-Z0-9-]+", endpoint)


@given(fleets, items)
def test_adding_a_model_moves_no_other_model(fleet, new):
    fleet = [item for item in fleet if item.name != new.name]
    before = assign(fleet, CAPACITIES, "dev")
    after = assign([*fleet, new], CAPACITIES, "dev", previous=before)
    assert {name: after[name] for name in before} == before


@given(fleets, st.data())
def test_removing_a_model_moves_no_other_model(fleet, data):
    before = assign(fleet, CAPACITIES, "dev")
    if not fleet:
        return
    removed = data.draw(st.sampled_from(fleet))
    after = assign([i for i in fleet if i != removed], CAPACITIES, "dev", previous=before)
    assert after == {name: endpoint for name, endpoint in before.items() if name != removed.name}


@settings(max_examples=50)
@given(st.lists(fleets, min_size=1, max_size=6))
def test_a_history_of_changes_never_moves_or_renames(history):
    """Apply successive fleets through the lock: a model that stays keeps its endpoint."""
    lock: dict[str, str] = {}
    for fleet in history:
        placed = assign(fleet, CAPACITIES, "staging", previous=lock)
        for name in placed.keys() & lock.keys():
            item = next(i for i in fleet if i.name == name)
            if lock[name].startswith(item.group.endpoint_prefix("staging")):
                assert placed[name] == lock[name]
        lock = placed


def test_endpoint_identity_does_not_depend_on_other_groups():
    """The slice named endpoints by position among groups; a new group renamed the others."""
    fraud = Item("fraud-scorer", GROUPS[0], 512)
    alone = assign([fraud], CAPACITIES, "dev")
    with_others = assign([fraud, Item("aaa", GROUPS[2], 10)], CAPACITIES, "dev")
    assert with_others["fraud-scorer"] == alone["fraud-scorer"]


def test_a_model_larger_than_an_endpoint_is_refused():
    import pytest

    with pytest.raises(ValueError, match="needs 4096 MB"):
        assign([Item("huge", GROUPS[0], 4096)], CAPACITIES, "dev")


def test_long_team_names_still_give_valid_endpoint_names():
    group = GroupKey("t" * 40, "img/sklearn:1.2-1", "ml.m5.xlarge")
    name = group.endpoint_name("staging", 999)
    assert len(name) <= 63 and re.fullmatch(r"[a-zA-Z0-9-]+", name)
