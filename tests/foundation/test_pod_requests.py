"""A pod asks its node and its team's quota for its server's and its sidecars' requests together
(or its largest init container's, if larger): validation counts what the rendered pod requests,
so a model that passes validation is not refused by the ResourceQuota or left Pending."""

from __future__ import annotations

from decimal import Decimal

import pytest

from components.eks_model import pod_spec
from components.serving.events_gateway import EventsTarget
from infra.declarations import ModelDeclaration, SpecError
from infra.declarations.pod_requests import pod_requests
from infra.declarations.scheduling import allocatable
from infra.loader import parse_environment
from tests.foundation.conftest import config_data, model_data, team_data

GATEWAY_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlplat-events-gateway:1"
OWN_IMAGE = "ghcr.io/acme/ranker:2"
# Prediction events on, with the gateway's image: declaring models' pods run the gateway.
KAFKA = {"enabled": True, "brokers": 2, "replicationFactor": 2, "gatewayImage": GATEWAY_IMAGE}
# What the sidecars request, read off their container specs by hand (not from the code).
STATSD = (Decimal("0.05"), 32)  # the metrics sidecar of a model on the SageMaker sklearn image
GATEWAY = (Decimal("0.1"), 128)  # the events gateway, where Kafka is on and the model declares it


def _cpu(quantity: str) -> Decimal:
    return Decimal(quantity[:-1]) / 1000 if quantity.endswith("m") else Decimal(quantity)


def _mib(quantity: str) -> Decimal:
    units = {"Mi": 1, "Gi": 1024}
    return Decimal(quantity[:-2]) * units[quantity[-2:]]


def effective_requests(spec: dict) -> tuple[Decimal, Decimal]:
    """Kubernetes' rule: per resource, the larger of the containers' sum and the largest init
    container's request."""

    def requests(container: dict) -> tuple[Decimal, Decimal]:
        wanted = container["resources"]["requests"]
        return _cpu(wanted["cpu"]), _mib(wanted["memory"])

    running = [requests(c) for c in spec["containers"]]
    init = [requests(c) for c in spec.get("initContainers", [])]
    return (
        max(sum(c for c, _ in running), max((c for c, _ in init), default=0)),
        max(sum(m for _, m in running), max((m for _, m in init), default=0)),
    )


def _target() -> EventsTarget:
    return EventsTarget("arn:msk", "fraud-predictions", "b-1:9098", GATEWAY_IMAGE, "us-east-1")


EVENTS = {"monthly_events": 1000}
TINY = {"memory_mb": 16, "cpu": "0.01"}  # below one init container's 0.1 vCPU and 128 MiB
MID = {"memory_mb": 100, "cpu": "0.06"}  # below it alone, above it with the sidecars
MODELS = {
    "sklearn image": {},
    "own image": {"image": OWN_IMAGE},
    "events": {"events": EVENTS},
    "events, own image": {"events": EVENTS, "image": OWN_IMAGE},
    **{
        f"{size} {name}": {**changes, "resources": resources}
        for size, resources in (("tiny", TINY), ("mid", MID))
        for name, changes in (
            ("own image", {"image": OWN_IMAGE}),
            ("sklearn image", {}),
            ("events", {"events": EVENTS}),
            ("events, own image", {"events": EVENTS, "image": OWN_IMAGE}),
        )
    },
}


@pytest.mark.parametrize("kafka", [True, False])
@pytest.mark.parametrize("case", sorted(MODELS))
def test_validation_counts_what_the_rendered_pod_requests(case, kafka):
    model = ModelDeclaration(**model_data(serving="eks", instance_type=None, **MODELS[case]))
    gateway = _target() if kafka and model.events else None
    spec = pod_spec(
        model, image="img", service_account="sa", archive_uri="s3://b/m.tar.gz", events=gateway
    )
    counted = pod_requests(model, kafka)
    assert (counted.cpu, counted.memory_mb) == effective_requests(spec)


# --- the boundaries, with sidecars ---------------------------------------------------------------


def _problems(model: dict, team: dict | None = None, kafka: bool = False) -> dict[str, str]:
    return _stack([model], team or team_data(quota={"cpu": 64, "memory_gib": 256}), kafka)


def _eks(cpu: Decimal | str, memory_mb: int, replicas: int = 1, **changes) -> dict:
    return model_data(
        serving="eks",
        instance_type=None,
        resources={"memory_mb": memory_mb, "cpu": str(cpu)},
        scaling={"min_instances": replicas, "max_instances": replicas},
        **changes,
    )


SIDECARS = [
    # (the model's changes, Kafka on, the sidecars' cpu and MiB)
    ({}, False, STATSD),
    ({"events": {"monthly_events": 1000}}, True, (STATSD[0] + GATEWAY[0], STATSD[1] + GATEWAY[1])),
    ({"events": {"monthly_events": 1000}, "image": OWN_IMAGE}, True, GATEWAY),
    # a declaring model where Kafka is off serves without the gateway
    ({"events": {"monthly_events": 1000}}, False, STATSD),
]


@pytest.mark.parametrize(("changes", "kafka", "sidecars"), SIDECARS)
def test_a_replica_and_its_sidecars_fit_a_node_exactly_and_no_more(changes, kafka, sidecars):
    node = allocatable("m6i.large")  # the default system nodes'
    cpu, mib = node.cpu - sidecars[0], node.memory_mb - sidecars[1]
    assert _problems(_eks(cpu, mib, **changes), kafka=kafka) == {}
    over_cpu = _problems(_eks(cpu + Decimal("0.01"), mib, **changes), kafka=kafka)
    assert "would stay Pending" in over_cpu["models[0].resources"]
    assert (
        f"its sidecars' {sidecars[0]} vCPU and {sidecars[1]} MiB included"
        in (over_cpu["models[0].resources"])
    )
    over_memory = _problems(_eks(cpu, mib + 1, **changes), kafka=kafka)
    assert "would stay Pending" in over_memory["models[0].resources"]


@pytest.mark.parametrize(("changes", "kafka", "sidecars"), SIDECARS)
def test_replicas_and_their_sidecars_take_the_teams_quota_exactly_and_no_more(
    changes, kafka, sidecars
):
    """One replica and the one more a rolling update starts take a quota of 2 exactly."""
    team = team_data(quota={"cpu": 2, "memory_gib": 2})
    cpu, mib = 1 - sidecars[0], 1024 - sidecars[1]
    assert _problems(_eks(cpu, mib, 1, **changes), team, kafka) == {}
    over = _problems(_eks(cpu + Decimal("0.01"), mib + 1, 1, **changes), team, kafka)
    assert over["models[0].resources.cpu"].startswith(
        f"1 replica(s) and a rolling update's 1 more request "
        f"{2 * (cpu + Decimal('0.01') + sidecars[0])} vCPU (its sidecars'"
    )
    assert over["models[0].resources.memory_mb"].startswith(
        f"1 replica(s) and a rolling update's 1 more request {2 * (mib + 1 + sidecars[1])} MiB "
        "(its sidecars'"
    )


@pytest.mark.parametrize(("changes", "kafka", "sidecars"), SIDECARS)
def test_the_teams_models_together_count_their_sidecars(changes, kafka, sidecars):
    """Two models that each fit alone take the team's quota exactly together only with their
    sidecars counted, and one more hundredth of a vCPU each is refused for the team."""
    team = team_data(quota={"cpu": 4, "memory_gib": 4})  # each model: a replica and a successor
    cpu, mib = 1 - sidecars[0], 1024 - sidecars[1]
    pair = [_eks(cpu, mib, 1, name=f"m{i}", **changes) for i in range(2)]
    assert _problems(pair[0], team, kafka) == {}
    assert _stack(pair, team, kafka) == {}
    bigger = [_eks(cpu + Decimal("0.01"), mib, 1, name=f"m{i}", **changes) for i in range(2)]
    assert _stack(bigger, team, kafka) == {
        "teams[0].quota.cpu": (
            f"the team's EKS models request {4 * (cpu + Decimal('0.01') + sidecars[0])} vCPU "
            "together at min_instances with a rolling update's pod each; the quota allows 4 vCPU"
        )
    }


def _stack(models: list[dict], team: dict, kafka: bool) -> dict[str, str]:
    config = config_data(**({"mlplat:streaming": KAFKA} if kafka else {}))
    try:
        parse_environment("dev", teams=[team], models=models, config=config)
    except SpecError as error:
        return {problem.path: problem.message for problem in error.problems}
    return {}


def test_a_pod_requests_at_least_its_init_containers_request():
    """Each init container requests 0.1 vCPU and 128 MiB: nine replicas and a successor of a
    model asking for less still take 1 vCPU of the quota, and a tenth replica is refused,
    saying why."""
    team = team_data(quota={"cpu": 1, "memory_gib": 2})
    tiny = {"image": OWN_IMAGE}
    assert _problems(_eks("0.01", 16, 9, **tiny), team) == {}
    problems = _problems(_eks("0.01", 16, 10, **tiny), team)
    assert problems["models[0].resources.cpu"].startswith(
        "10 replica(s) and a rolling update's 1 more request 1.1 vCPU (each pod at least its "
        "init containers' 0.1 vCPU), more"
    )


def test_sidecars_are_not_named_where_a_model_has_none_or_for_gpus():
    team = team_data(quota={"cpu": 1, "gpus": 0})
    own = _problems(_eks("2", 512, image=OWN_IMAGE), team)
    assert own["models[0].resources.cpu"] == (
        "1 replica(s) and a rolling update's 1 more request 4 vCPU, more than the quota of team "
        "'fraud' (1 vCPU): lower the request or min_instances, or raise the team's quota"
    )
    gpu = model_data(serving="eks", instance_type=None, resources={"memory_mb": 512, "gpus": 1})
    assert _problems(gpu, team)["models[0].resources.gpus"].startswith(
        "1 replica(s) and a rolling update's 1 more request 2 GPU(s), more than the quota"
    )


def test_the_gateway_is_counted_even_when_another_config_section_is_invalid():
    """Every problem at once: a broken section elsewhere does not hide that the events
    gateway's requests overfill the quota."""
    team = team_data(quota={"cpu": 2, "memory_gib": 2})
    config = config_data(**{"mlplat:streaming": KAFKA, "mlplat:monitoring": {"bogus": 1}})
    model = _eks("0.96", 512, 1, image=OWN_IMAGE, events=EVENTS)  # 2 x 1.06 vCPU with its gateway
    with pytest.raises(SpecError) as caught:
        parse_environment("dev", teams=[team], models=[model], config=config)
    problems = {problem.path: problem.message for problem in caught.value.problems}
    assert any(path.startswith("config.monitoring") for path in problems)
    assert "its sidecars' 0.1 vCPU" in problems["models[0].resources.cpu"]


def test_the_init_containers_are_named_only_where_they_ask_more_than_the_pod():
    """At exactly the init container's 0.1 vCPU and 128 MiB the pod's own containers decide:
    no mention; below, each resource the init container decides is named in its unit."""
    team = team_data(quota={"cpu": 1, "memory_gib": 1})
    equal = _problems(_eks("0.1", 128, 10, image=OWN_IMAGE), team)
    assert equal["models[0].resources.cpu"].startswith(
        "10 replica(s) and a rolling update's 1 more request 1.1 vCPU, more"
    )
    small = _problems(_eks("0.6", 16, 10, image=OWN_IMAGE), team_data(quota={"memory_gib": 1}))
    assert small["models[0].resources.memory_mb"].startswith(
        "10 replica(s) and a rolling update's 1 more request 1408 MiB (each pod at least its "
        "init containers' 128 MiB), more"
    )
