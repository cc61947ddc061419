"""A split team's route group: each shard routes its own models through its own Ingress in the
group's IngressGroup (one load balancer), and exactly one shard, one that holds a model of the
group, makes the group's DNS name."""

from __future__ import annotations

from components.serving.route_groups import RouteGroup
from infra.layers import shard_of
from infra.loader import load_environment, read_stack_config
from infra.serving import dns_owners


def _split(shards: int):
    """dev with its first EKS model's team split, and ten copies of that model in one group."""
    spec = load_environment("dev", read_stack_config("dev"))
    model = next(iter(spec.models_served_by("eks")))
    copies = [model.model_copy(update={"name": f"{model.name[:40]}-{i}"}) for i in range(10)]
    teams = [
        t.model_copy(update={"serving_shards": shards}) if t.name == model.team else t
        for t in spec.teams
    ]
    split = spec.model_copy(update={"teams": teams, "models": [*spec.models, *copies]})
    groups = {c.name: RouteGroup(model.team, 1 + i % 2) for i, c in enumerate(copies)}
    return split, model.team, groups


def test_each_group_has_one_dns_owner_holding_one_of_its_models():
    for shards in (1, 2, 3):
        spec, team, assignment = _split(shards)
        owners = dns_owners(spec, team, assignment, shards)
        assert set(owners) == set(assignment.values())
        for group, owner in owners.items():
            members = [m for m, g in assignment.items() if g == group]
            assert owner in {shard_of(m, shards) for m in members}
            assert owner == shard_of(min(members), shards)  # the rule: its first model's shard
        # The ten copies spread over the shards: some group has models in two shards.
        if shards > 1:
            assert len({shard_of(m, shards) for m in assignment}) > 1


def test_the_owner_does_not_change_when_a_later_model_joins():
    spec, team, assignment = _split(2)
    before = dns_owners(spec, team, assignment, 2)
    later = {name: group for name, group in assignment.items() if name != max(assignment)}
    assert dns_owners(spec, team, later, 2) == before
