"""Route groups: every team's EKS models on load balancers within AWS's rule and target-group
quotas, at 1,000 models, and stable relative to the route lock (adding or removing models moves
no other model)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.route_dns import dns_name, team_name_patterns
from components.serving.route_groups import (
    GROUP_CAPACITY,
    RouteGroup,
    assign_route_groups,
    stale_route_lock,
)
from infra.loader import load_environment, read_stack_config
from infra.project import PROJECT_ROOT


@dataclass(frozen=True)
class Declared:
    """What route assignment reads of a declaration."""

    name: str
    team: str


def fleet(count: int, teams: int) -> list[Declared]:
    return [Declared(f"model-{i:04d}", f"team-{i % teams}") for i in range(count)]


def as_lock(assignment: dict[str, RouteGroup]) -> dict[str, str]:
    return {model: group.label for model, group in assignment.items()}


def check_capacity(assignment: dict[str, RouteGroup], models) -> None:
    team_of = {m.name: m.team for m in models}
    assert set(assignment) == set(team_of)
    assert all(group.team == team_of[model] for model, group in assignment.items())
    assert max(Counter(assignment.values()).values(), default=0) <= GROUP_CAPACITY


def test_capacity_follows_the_alb_quotas():
    # 100 rules (without the default rule) and 100 target groups per ALB; one of each per model.
    assert GROUP_CAPACITY == 100


@pytest.mark.parametrize("teams", [1, 10])
def test_a_thousand_models_fit_the_fewest_load_balancers(teams):
    models = fleet(1000, teams)
    assignment = assign_route_groups(models, {})
    check_capacity(assignment, models)
    per_team = Counter(m.team for m in models)
    groups = Counter(group.team for group in set(assignment.values()))
    assert groups == {team: -(-n // GROUP_CAPACITY) for team, n in per_team.items()}


def test_the_hundred_and_first_model_of_a_team_opens_its_second_load_balancer():
    models = fleet(100, 1)
    locked = as_lock(assign_route_groups(models, {}))
    assert set(locked.values()) == {"team-0-0"}
    grown = assign_route_groups([*models, Declared("model-9999", "team-0")], locked)
    assert grown["model-9999"] == RouteGroup("team-0", 1)
    assert {m: g.label for m, g in grown.items() if m != "model-9999"} == locked


@settings(max_examples=40, deadline=None)
@given(
    first=st.integers(min_value=0, max_value=1000),
    removed=st.sets(st.integers(min_value=0, max_value=999), max_size=300),
    added=st.integers(min_value=0, max_value=300),
    teams=st.integers(min_value=1, max_value=10),
)
def test_adding_and_removing_models_moves_no_other_model(first, removed, added, teams):
    models = fleet(first, teams)
    locked = as_lock(assign_route_groups(models, {}))
    kept = [m for i, m in enumerate(models) if i not in removed]
    newcomers = [Declared(f"new-{i:04d}", f"team-{i % teams}") for i in range(added)]
    after = assign_route_groups([*kept, *newcomers], locked)
    check_capacity(after, [*kept, *newcomers])
    assert all(after[m.name].label == locked[m.name] for m in kept)
    # Pure: the same models and lock give the same answer.
    assert after == assign_route_groups([*newcomers, *kept], locked)


def test_a_model_that_changes_team_leaves_the_old_teams_load_balancer():
    locked = {"scorer": "fraud-0"}
    assert assign_route_groups([Declared("scorer", "growth")], locked)["scorer"].team == "growth"


@settings(max_examples=60, deadline=None)
@given(
    team=st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True),
    other=st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True),
    number=st.integers(min_value=0, max_value=99),
)
def test_a_teams_dns_grant_matches_its_names_and_no_other_teams(team, other, number):
    domain = "models.example.internal"
    patterns = team_name_patterns(team, domain)
    own = dns_name(RouteGroup(team, number).label, domain)
    assert any(fnmatchcase(own, p) for p in patterns)
    # Any other team, and the look-alike that starts with this team's name (fraud, fraud-ops).
    for someone in {other, f"{team}-{other}"} - {team}:
        theirs = dns_name(RouteGroup(someone, number).label, domain)
        assert not any(fnmatchcase(theirs, p) for p in patterns), (team, someone, number)


def test_labels_parse_back_whatever_the_team_name():
    for group in (RouteGroup("fraud", 3), RouteGroup("fraud-ops", 12), RouteGroup("a-1", 0)):
        assert RouteGroup.parse(group.label) == group
    with pytest.raises(ValueError):
        RouteGroup.parse("fraud")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_committed_route_locks_are_current(stack):
    spec = load_environment(stack, read_stack_config(stack))
    assert stale_route_lock(spec) is None


def test_a_stale_route_lock_says_what_models_place_would_do(monkeypatch):
    from components.serving import route_groups

    spec = load_environment("dev", read_stack_config("dev"))
    monkeypatch.setattr(route_groups, "read_route_lock", lambda environment: {"gone": "fraud-0"})
    message = stale_route_lock(spec)
    assert "stacks/dev.routes.json is stale" in message
    assert "drop gone" in message
    assert all(f"route {m.name} on" in message for m in spec.models_served_by("eks"))


# The assignment at a small capacity: the same rules as at the ALB's 100, with few models.


def test_a_locked_group_keeps_models_up_to_exactly_its_capacity():
    """A lock written at a larger capacity (or by hand) may put more models on a group than it
    holds: the first ones by name keep it, up to the capacity and no further; the others join
    the lowest-numbered group with room."""
    models = [Declared(name, "risk") for name in ("a", "b", "c", "d")]
    locked = {"a": "risk-0", "b": "risk-0", "c": "risk-0", "d": "risk-1"}
    assignment = assign_route_groups(models, locked, capacity=2)
    assert as_lock(assignment) == {"a": "risk-0", "b": "risk-0", "c": "risk-1", "d": "risk-1"}


def test_a_lock_exactly_full_moves_nothing():
    """At capacity 1 each group is full with its one model, and each model keeps its own."""
    models = [Declared(name, "risk") for name in ("a", "b", "c")]
    locked = {"a": "risk-2", "b": "risk-0", "c": "risk-1"}
    assert as_lock(assign_route_groups(models, locked, capacity=1)) == locked


def test_newcomers_take_the_lowest_group_numbers_with_room():
    """Groups 0 to 2 full (one model each at capacity 1), a gap at 3, group 4 locked: the new
    models open 3, then 5; without a lock they open 0, 1, 2."""
    kept = {"a": "risk-0", "b": "risk-1", "c": "risk-2", "e": "risk-4"}
    models = [Declared(name, "risk") for name in ("a", "b", "c", "e", "new-1", "new-2")]
    assignment = assign_route_groups(models, kept, capacity=1)
    assert as_lock(assignment) == kept | {"new-1": "risk-3", "new-2": "risk-5"}
    fresh = [Declared(name, "risk") for name in ("x", "y", "z")]
    assert as_lock(assign_route_groups(fresh, {}, capacity=1)) == {
        "x": "risk-0",
        "y": "risk-1",
        "z": "risk-2",
    }


def test_a_label_that_is_not_team_dash_number_is_refused_naming_it():
    for label in ("fraud", "-3", "fraud-", "fraud-x", "fraud-1a"):
        with pytest.raises(ValueError) as error:
            RouteGroup.parse(label)
        assert str(error.value) == f"{label!r} is not <team>-<number>"


def test_a_lock_entry_that_is_no_group_label_places_the_model_anew():
    assignment = assign_route_groups([Declared("scorer", "risk")], {"scorer": "-0"}, capacity=1)
    assert assignment == {"scorer": RouteGroup("risk", 0)}


@pytest.fixture
def lock_folder(tmp_path, monkeypatch):
    """Route locks read and written under a temporary project root."""
    from components.serving import route_groups

    (tmp_path / "stacks").mkdir()
    monkeypatch.setattr(route_groups, "PROJECT_ROOT", tmp_path)
    return tmp_path / "stacks"


def test_rewriting_a_current_lock_leaves_the_committed_file_byte_for_byte(lock_folder):
    """`mlplat models place` rewrites the lock: a current lock must come out as committed (no
    diff to review), with the command to update it in its comment."""
    from components.serving.route_groups import route_groups, write_route_lock

    for stack in ("dev", "staging", "prod"):
        committed = (PROJECT_ROOT / "stacks" / f"{stack}.routes.json").read_text()
        spec = load_environment(stack, read_stack_config(stack))
        (lock_folder / f"{stack}.routes.json").write_text(committed)
        written = write_route_lock(stack, route_groups(spec))
        assert written == lock_folder / f"{stack}.routes.json"
        assert written.read_text() == committed
        assert f"mlplat models place --stack {stack}" in json.loads(committed)["comment"]


def test_the_lock_is_written_sorted_by_model_and_read_back(lock_folder):
    from components.serving.route_groups import read_route_lock, write_route_lock

    assignment = {"zeta": RouteGroup("risk", 1), "alpha": RouteGroup("growth", 0)}
    path = write_route_lock("qa", assignment)
    document = json.loads(path.read_text())
    assert list(document["groups"].items()) == [("alpha", "growth-0"), ("zeta", "risk-1")]
    assert read_route_lock("qa") == {"alpha": "growth-0", "zeta": "risk-1"}
    assert read_route_lock("nowhere") == {}  # no lock yet: nothing routed
    (lock_folder / "empty.routes.json").write_text('{"comment": "no EKS model yet"}')
    assert read_route_lock("empty") == {}


def test_route_groups_follow_the_committed_lock_unless_given_another(lock_folder):
    from components.serving.route_groups import route_groups

    spec = load_environment("dev", read_stack_config("dev"))
    eks = sorted(m.name for m in spec.models_served_by("eks"))
    team = {m.name: m.team for m in spec.models_served_by("eks")}
    elsewhere = {name: f"{team[name]}-7" for name in eks}  # a group nothing new would open
    (lock_folder / "dev.routes.json").write_text(json.dumps({"groups": elsewhere}))
    assert as_lock(route_groups(spec)) == elsewhere
    assert as_lock(route_groups(spec, {})) == {name: f"{team[name]}-0" for name in eks}


def test_a_stale_lock_names_each_model_moved_and_only_those(lock_folder):
    spec = load_environment("dev", read_stack_config("dev"))
    eks = sorted(m.name for m in spec.models_served_by("eks"))
    team = {m.name: m.team for m in spec.models_served_by("eks")}
    moved = eks[0]
    locked = {name: f"{team[name]}-0" for name in eks} | {moved: "someone-else-0", "gone": "x-0"}
    (lock_folder / "dev.routes.json").write_text(json.dumps({"groups": locked}))
    assert stale_route_lock(spec) == (
        "stacks/dev.routes.json is stale: `mlplat models place --stack dev` would "
        f"move {moved} from someone-else-0 to {team[moved]}-0; drop gone"
    )
