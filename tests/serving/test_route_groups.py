"""Route groups: every team's EKS models on load balancers within AWS's rule and target-group
quotas, at 1,000 models, and stable relative to the route lock (adding or removing models moves
no other model)."""

from __future__ import annotations

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
