"""A team's serving layer split into shards: stack names, a stable assignment, and the shards
together serving exactly what the team's one serving stack served."""

from __future__ import annotations

import importlib
from collections import Counter

import pytest

from infra.layers import Layer, StackName, layered_stacks, parse_stack, serving_stack, shard_of
from mlplat.touched import touched_stacks
from tests.layers.conftest import resources

UNITS = [f"mlplat-dev-team-ep-{index}" for index in range(600)]
SERVED = ("mlplat:serving:HostedModel", "mlplat:eks_model:EksModel")


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("dev.serving.fraud.1", StackName("dev", Layer.SERVING, "fraud", 1)),
        ("prod.serving.risk-ops.12", StackName("prod", Layer.SERVING, "risk-ops", 12)),
    ],
)
def test_a_shard_stack_name_says_its_team_and_shard(name, parsed):
    assert parse_stack(name) == parsed
    assert str(parsed) == name


@pytest.mark.parametrize(
    "name", ["dev.serving.fraud.0", "dev.serving.fraud.x", "dev.serving.fraud.1.2"]
)
def test_shard_zero_is_the_teams_own_stack_name_and_no_other_shape_parses(name):
    with pytest.raises(ValueError, match="<env>.serving.<team>"):
        parse_stack(name)


def test_layered_stacks_list_every_shard_after_the_platform():
    assert layered_stacks("dev", ["growth", "fraud"], shards={"fraud": 3}) == [
        "dev.platform",
        "dev.serving.fraud",
        "dev.serving.fraud.1",
        "dev.serving.fraud.2",
        "dev.serving.growth",
    ]


def test_units_spread_over_every_shard():
    for shards in (1, 2, 3, 5):
        counts = Counter(shard_of(unit, shards) for unit in UNITS)
        assert set(counts) == set(range(shards))
        assert min(counts.values()) > len(UNITS) / shards * 0.7  # no shard starved


def test_one_more_shard_moves_units_only_into_the_new_shard():
    for shards in (1, 2, 4):
        moved = [u for u in UNITS if shard_of(u, shards) != shard_of(u, shards + 1)]
        assert moved, "the new shard must take some units"
        assert {shard_of(u, shards + 1) for u in moved} == {shards}
        assert len(moved) < len(UNITS) / (shards + 1) * 1.3


@pytest.fixture
def sharded(monkeypatch):
    """``sharded(team, shards, edit=None)``: dev's layered exports with ``team`` split."""
    from mlplat.offline import preview_layers

    def preview(team: str, shards: int, edit=None) -> dict:
        module = importlib.import_module("stacks.dev")
        monkeypatch.setattr(
            module,
            "teams",
            [
                t.model_copy(update={"serving_shards": shards}) if t.name == team else t
                for t in module.teams
            ],
        )
        # A sharded team's batch jobs run in its first shard only (infra/serving.py refuses the
        # others, naming the model and field); these tests move models freely.
        models = [_without_batch(m) for m in module.models]
        monkeypatch.setattr(module, "models", list(edit(models)) if edit is not None else models)
        return preview_layers("dev")

    return preview


def _without_batch(model):
    from infra.declarations.model import ModelOverride

    if isinstance(model, ModelOverride):
        return ModelOverride(model.base, {**model.changes, "batch": ()}, model.origin)
    return model.override(batch=()) if model.batch else model


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _of_types(document: dict, *types: str) -> set[str]:
    return {_name(r["urn"]) for r in resources(document) if r["type"] in types}


def _busiest_team() -> str:
    from infra.loader import load_environment, read_stack_config

    spec = load_environment("dev", read_stack_config("dev"))
    return Counter(m.team for m in spec.models).most_common(1)[0][0]


def test_the_shards_serve_exactly_what_the_teams_one_stack_served(layer_exports, sharded):
    team = _busiest_team()
    one = sharded(team, 1)  # the same models, the team in one stack
    whole = one[serving_stack("dev", team)]
    split = sharded(team, 3)
    shards = [split[serving_stack("dev", team, shard)] for shard in range(3)]
    assert serving_stack("dev", team, 3) not in split

    for kinds in (
        SERVED,
        ("aws:sagemaker/endpoint:Endpoint",),
        ("aws:s3/bucketObjectv2:BucketObjectv2",),
    ):
        per_shard = [_of_types(document, *kinds) for document in shards]
        assert set().union(*per_shard) == _of_types(whole, *kinds), kinds
        assert sum(map(len, per_shard)) == len(_of_types(whole, *kinds)), f"{kinds} in two shards"
    # Each endpoint sits where the assignment says, with its models and their served records.
    for shard, document in enumerate(shards):
        for endpoint in _of_types(document, "mlplat:serving:MultiModelEndpoint"):
            assert shard_of(endpoint, 3) == shard
        records = {
            n.removesuffix("-served")
            for n in _of_types(document, "aws:dynamodb/tableItem:TableItem")
            if n.endswith("-served")
        }
        models = {
            n.removeprefix("mlplat-dev-") for n in _of_types(document, "mlplat:eks_model:EksModel")
        }
        models |= {
            r["outputs"].get("model") or r["inputs"].get("model")
            for r in resources(document)
            if r["type"] == "mlplat:serving:HostedModel"
        } - {None}
        assert records == {f"mlplat-dev-{m}" for m in models}
    # Shards share nothing a name makes unique in the account: one dashboard each.
    dashboards = [
        r["inputs"]["dashboardName"]
        for document in shards
        for r in resources(document)
        if r["type"] == "aws:cloudwatch/dashboard:Dashboard"
    ]
    assert len(set(dashboards)) == 3
    # Nothing outside the team changes when it is split.
    before = one
    assert {s for s in split if s in before and split[s] != before[s]} <= {
        serving_stack("dev", team)
    }


def test_a_model_change_in_a_sharded_team_touches_its_shard_alone(sharded):
    team = _busiest_team()

    def bump(models):
        target = next(m for m in models if getattr(m, "team", None) == team)
        return [
            m.model_copy(update={"version": m.version + 1}) if m is target else m for m in models
        ]

    before = sharded(team, 2)
    after = sharded(team, 2, bump)
    touched = touched_stacks(before, after)
    assert len(touched) == 1 and parse_stack(touched[0]).team == team


def test_a_shard_the_team_does_not_have_exits_2_naming_its_shards():
    from typer.testing import CliRunner

    from mlplat.cli import app

    result = CliRunner().invoke(app, ["preview", "--stack", "dev.serving.fraud.1", "-q"])
    assert result.exit_code == 2
    assert "team 'fraud' has serving_shards=1" in result.output
    assert "Traceback" not in result.output


# What each shard has of its own, never moved: the stack's root and providers, the StackReference,
# the team's execution role (one per shard, auto-named) and the shard's dashboard with its alarms.
SHARD_GLUE = (
    "pulumi:pulumi:Stack",
    "pulumi:providers:",
    "pulumi:pulumi:StackReference",
    "mlplat:serving:TeamExecutionRole",
    "mlplat:observability:Observability",
    "mlplat:monitoring:TeamRuleNamespaces",  # each shard's own models' alert rules
)


def _moved(urn: str) -> str | None:
    """The URN with its stack left out; None for a shard's own glue (its type chain names it)."""
    _, _, chain, name = urn.split("::", 3)
    if any(chain.startswith(glue) or f"${glue}" in chain for glue in SHARD_GLUE):
        return None
    return f"{chain}::{name}"


def test_moving_a_team_into_shards_maps_every_urn_to_exactly_one_shard(layer_exports, sharded):
    """What `pulumi state move` relies on (README, "Sharding a team's serving layer"): each
    resource of the team's one stack is in one shard under the same type chain and name."""
    team = _busiest_team()
    one = sharded(team, 1)[serving_stack("dev", team)]  # the same models, one stack
    whole = {_moved(r["urn"]) for r in resources(one)}
    whole.discard(None)
    split = sharded(team, 2)
    found = Counter(
        _moved(r["urn"])
        for shard in range(2)
        for r in resources(split[serving_stack("dev", team, shard)])
    )
    del found[None]
    assert set(found) == whole
    assert [urn for urn, count in found.items() if count > 1] == []
    assert any("MultiModelEndpoint" in urn or "EksModel" in urn for urn in whole)


def test_batch_jobs_of_a_model_outside_shard_zero_are_refused_before_anything_is_built(
    monkeypatch,
):
    """The team's virtual cluster is shard 0's: a model with batch jobs that another shard serves
    is named, with exit 2, and the shard's program stops before registering anything."""
    from typer.testing import CliRunner

    from infra import serving
    from infra.loader import load_environment, read_stack_config
    from mlplat.cli import app

    spec = load_environment("dev", read_stack_config("dev"))
    model = next((m for m in spec.models if m.batch), None)
    if model is None:
        pytest.skip("no model of dev declares batch jobs")
    # The fewest shards that put the model outside shard 0, and the shard that holds it.
    module = importlib.import_module("stacks.dev")
    for shards in range(2, 40):
        split = [
            t.model_copy(update={"serving_shards": shards}) if t.name == model.team else t
            for t in module.teams
        ]
        monkeypatch.setattr(module, "teams", split)
        spec = load_environment("dev", read_stack_config("dev"))
        stacks = [StackName("dev", Layer.SERVING, model.team, n) for n in range(shards)]
        holder = next(s for s in stacks if serving.holds_model(spec, model.team, s)(model.name))
        if holder.shard > 0:
            break
    else:
        pytest.fail("no shard count up to 40 moves the model out of shard 0")
    registered = []
    monkeypatch.setattr(
        serving, "build_multi_model_endpoints", lambda *a, **k: registered.append(a) or []
    )
    result = CliRunner().invoke(app, ["preview", "--stack", str(holder), "-q"])
    assert result.exit_code == 2, result.output
    assert f"{model.name}.batch" in result.output and "batch jobs run only" in result.output
    assert "Traceback" not in result.output and registered == []
    # Shard 0 is refused nothing: its models' jobs are built there.
    zero = CliRunner().invoke(app, ["preview", "--stack", str(stacks[0]), "-q"])
    assert zero.exit_code == 0, zero.output


def test_a_split_groups_load_balancer_is_priced_in_one_shard_only(sharded):
    """Each shard routes its models of a group through its own Ingress of the one IngressGroup:
    `mlplat cost` of each shard counts the group's load balancer once in all, in the shard that
    owns the group, and the shards together cost what the team's one stack did."""
    from cost_model.estimate import estimate
    from cost_model.graph import Graph
    from cost_model.prices import load_snapshot

    ingress = "kubernetes:networking.k8s.io/v1:Ingress"
    group_key = "alb.ingress.kubernetes.io/group.name"

    def groups(document: dict) -> set[str]:
        return {
            r["inputs"]["metadata"]["annotations"][group_key]
            for r in resources(document)
            if r["type"] == ingress
        }

    def load_balancers(document: dict) -> list:
        items = estimate(Graph.from_export(document), load_snapshot()).items
        return [item for item in items if item.type == ingress]

    from infra.loader import load_environment, read_stack_config

    spec = load_environment("dev", read_stack_config("dev"))
    model = next(iter(spec.models_served_by("eks")))
    team = model.team

    def copies(models):  # ten more of the team's EKS models, so its groups span its shards
        more = [model.model_copy(update={"name": f"{model.name[:40]}-{i}"}) for i in range(10)]
        return [*models, *more]

    split = sharded(team, 3, copies)
    shards = [split[serving_stack("dev", team, shard)] for shard in range(3)]
    whole = sharded(team, 1)[serving_stack("dev", team)]  # the stack file keeps the copies
    # The case this is about: some group has Ingresses in two shards.
    assert any(groups(a) & groups(b) for i, a in enumerate(shards) for b in shards[i + 1 :])
    priced = [item for shard in shards for item in load_balancers(shard)]
    assert len(priced) == len(groups(whole)) == len(set().union(*map(groups, shards)))
    # ... in the shard that makes the group's DNS name: the one holding its first model by name
    # (here not shard 0, so "shard 0 owns" would be caught).
    routed: dict[str, list[str]] = {}  # group -> its models, from every shard's Ingress rules
    for shard in shards:
        for r in resources(shard):
            if r["type"] == ingress:
                routed.setdefault(r["inputs"]["metadata"]["annotations"][group_key], []).extend(
                    p["backend"]["service"]["name"]
                    for rule in r["inputs"]["spec"]["rules"]
                    for p in rule["http"]["paths"]
                )
    owners = {group: shard_of(min(names), 3) for group, names in routed.items()}
    assert any(owner != 0 for owner in owners.values())
    for index, shard in enumerate(shards):
        for item in load_balancers(shard):
            (group,) = [
                r["inputs"]["metadata"]["annotations"][group_key]
                for r in resources(shard)
                if r["urn"] == item.urn
            ]
            assert owners[group] == index, (group, index)
    assert sum(i.monthly for i in priced) == pytest.approx(
        sum(i.monthly for i in load_balancers(whole))
    )
