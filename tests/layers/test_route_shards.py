"""A route group is one Ingress and one DNS name: a split team whose group's EKS models sit in
different shards is refused before anything is created (each shard would create both)."""

from __future__ import annotations

import pytest

from components.serving.route_groups import RouteGroup
from infra.declarations import SpecError
from infra.layers import shard_of
from infra.loader import load_environment, read_stack_config
from infra.serving import _refuse_groups_across_shards


def _split(shards: int, same_shard: bool):
    """dev with its first EKS model's team split, and copies of that model in one group."""
    spec = load_environment("dev", read_stack_config("dev"))
    model = next(iter(spec.models_served_by("eks")))
    copies, seen = [], set()
    for index in range(200):
        name = f"{model.name[:40]}-{index}"
        shard = shard_of(name, shards)
        if (same_shard and shard == 0) or (not same_shard and shard not in seen):
            copies.append(model.model_copy(update={"name": name}))
            seen.add(shard)
        if len(copies) == 2:
            break
    teams = [
        t.model_copy(update={"serving_shards": shards}) if t.name == model.team else t
        for t in spec.teams
    ]
    split = spec.model_copy(update={"teams": teams, "models": [*spec.models, *copies]})
    group = RouteGroup(model.team, 1)
    return split, model.team, {copy.name: group for copy in copies}


def test_a_group_split_across_shards_is_refused_naming_the_team_and_group():
    spec, team, assignment = _split(2, same_shard=False)
    with pytest.raises(SpecError) as caught:
        _refuse_groups_across_shards(spec, team, assignment)
    (problem,) = caught.value.problems
    assert problem.path == f"teams.{team}.serving_shards"
    assert f"route group {team}-1 would be split across shards" in problem.message


def test_a_group_within_one_shard_and_an_unsplit_team_pass():
    spec, team, assignment = _split(2, same_shard=True)
    _refuse_groups_across_shards(spec, team, assignment)
    spec, team, assignment = _split(1, same_shard=False)  # one shard: nothing to split
    _refuse_groups_across_shards(spec, team, assignment)
