"""Whether an EKS model's pods fit a node: the node's allocatable share, the boundary where a
request still fits, and what the refusal names (every node group the pods may use, the largest)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from infra.declarations import SpecError
from infra.declarations.scheduling import allocatable
from infra.loader import parse_environment
from tests.foundation.conftest import config_data, model_data, team_data

# kube-reserved as the EKS AMI's bootstrap computes it (see infra/declarations/scheduling.py):
# memory 255 MiB + 11 MiB x 110 pods + 100 MiB eviction threshold, + 256 MiB for DaemonSets;
# CPU 6% of the first core, 1% of the second, 0.5% of the third and fourth, 0.25% of the rest,
# + 0.2 vCPU for DaemonSets. Worked out by hand here, so the formula is not its own oracle.
RESERVED_MIB = 255 + 11 * 110 + 100 + 256  # 1,821


@pytest.mark.parametrize(
    ("instance", "cpu", "memory_mb", "gpus"),
    [
        ("m6i.large", "1.73", 8192 - RESERVED_MIB, 0),  # 2 - (0.06 + 0.01) - 0.2
        ("m6i.xlarge", "3.72", 16384 - RESERVED_MIB, 0),  # 4 - 0.08 - 0.2
        ("m6i.2xlarge", "7.71", 32768 - RESERVED_MIB, 0),  # 8 - (0.08 + 4 x 0.0025) - 0.2
        ("m5.4xlarge", "15.69", 65536 - RESERVED_MIB, 0),  # 16 - (0.08 + 12 x 0.0025) - 0.2
        ("g5.12xlarge", "47.61", 196608 - RESERVED_MIB, 4),  # 48 - (0.08 + 44 x 0.0025) - 0.2
    ],
)
def test_a_node_offers_its_capacity_less_what_eks_reserves(instance, cpu, memory_mb, gpus):
    node = allocatable(instance)
    assert (node.instance_type, node.cpu, node.memory_mb, node.gpus) == (
        instance,
        Decimal(cpu),
        memory_mb,
        gpus,
    )


def test_an_instance_type_outside_the_catalog_offers_nothing_known():
    assert allocatable("m99.huge") is None


def _problems(model: dict, cluster: dict | None = None) -> dict[str, str]:
    team = team_data(quota={"cpu": 64, "memory_gib": 256, "gpus": 8})
    config = config_data(**({"mlplat:cluster": cluster} if cluster else {}))
    try:
        parse_environment("dev", teams=[team], models=[model], config=config)
    except SpecError as error:
        return {problem.path: problem.message for problem in error.problems}
    return {}


def _eks_model(**changes) -> dict:
    """Served from its own image: no sidecars, so a pod requests the model's resources only
    (sidecars are counted in tests/foundation/test_pod_requests.py)."""
    return model_data(serving="eks", instance_type=None, image="ghcr.io/acme/ranker:2", **changes)


@pytest.mark.parametrize(
    ("cpu", "fits"),
    [("1.73", True), ("1.74", False)],  # m6i.large's allocatable CPU, above
)
def test_a_replica_may_request_exactly_the_cpu_a_node_offers(cpu, fits):
    problems = _problems(_eks_model(resources={"memory_mb": 1024, "cpu": cpu}))
    assert ("models[0].resources" not in problems) is fits, problems


@pytest.mark.parametrize(("gpus", "fits"), [(1, True), (2, False)])  # g5.xlarge has one
def test_a_replica_may_request_exactly_the_gpus_a_node_has(gpus, fits):
    problems = _problems(_eks_model(resources={"memory_mb": 1024, "gpus": gpus}))
    assert ("models[0].resources" not in problems) is fits, problems


def test_a_refusal_names_every_group_the_pods_may_use_and_the_largest_node_of_them():
    """A spot-tolerant model may use the system and the spot nodes; the larger (spot) node is
    named, whichever group is listed first."""
    problems = _problems(_eks_model(resources={"memory_mb": 100_000}, accepts_spot=True))
    assert problems == {
        "models[0].resources": (
            "one replica requests 1 vCPU, 100000 MiB and 0 GPU(s); the largest node of "
            "cluster.systemNodes or cluster.spotNodes (m6i.xlarge) offers about 3.72 vCPU, "
            f"{16384 - RESERVED_MIB} MiB and 0 GPU(s) to pods, so it would stay Pending: lower "
            "the request, or add a larger instance type to that node group"
        )
    }


def test_the_largest_node_is_chosen_by_gpus_then_memory_then_cpu():
    # c5.2xlarge has more vCPUs (8) but less memory (16 GiB) than r5.xlarge (4, 32 GiB).
    cluster = {"spotNodes": {"instanceTypes": ["c5.2xlarge", "r5.xlarge", "m5.xlarge"]}}
    problems = _problems(_eks_model(resources={"memory_mb": 500_000}, accepts_spot=True), cluster)
    assert "(r5.xlarge) offers about 3.72 vCPU" in problems["models[0].resources"]


def test_a_gpu_model_is_judged_against_the_gpu_nodes_only():
    problems = _problems(_eks_model(resources={"memory_mb": 1024, "gpus": 2}))
    assert "the largest node of cluster.gpuNodes (g5.xlarge)" in problems["models[0].resources"]


def test_a_group_of_one_node_can_run_models():
    cluster = {"systemNodes": {"instanceTypes": ["m6i.large"], "minSize": 1, "maxSize": 1}}
    assert _problems(_eks_model(resources={"memory_mb": 1024}), cluster) == {}


def test_node_groups_of_unknown_instance_types_say_so_not_that_they_are_empty():
    cluster = {"systemNodes": {"instanceTypes": ["m99.huge"], "desiredSize": 1}}
    problems = _problems(_eks_model(resources={"memory_mb": 1024}), cluster)
    assert problems["config.cluster.systemNodes.instanceTypes[0]"] == (
        "unknown EC2 instance type 'm99.huge'"
    )
    assert problems["models[0].resources"] == (
        "no node can run it: cluster.systemNodes has no known instance type"
    )


# --- the team's ResourceQuota -------------------------------------------------------------------


def _stack_problems(teams: list[dict], models: list[dict]) -> list[tuple[str, str]]:
    try:
        parse_environment("dev", teams=teams, models=models, config=config_data())
    except SpecError as error:
        return [(problem.path, problem.message) for problem in error.problems]
    return []


GENERIC = "lower the request or min_instances, or raise the team's quota"


# (resource as the model writes it, a request per replica, quota key, quota, limit shown, unit)
QUOTAS = [
    ("cpu", "1", "cpu", 2, "2", "vCPU"),
    ("memory_mb", 1024, "memory_gib", 2, "2048", "MiB"),  # quota in GiB, requests in MiB
    ("gpus", 1, "gpus", 2, "2", "GPU(s)"),
]


def _replicas_model(resource: str, each, replicas: int, **changes) -> dict:
    resources = {"memory_mb": 512, resource: each}
    return _eks_model(
        resources=resources,
        scaling={"min_instances": replicas, "max_instances": replicas},
        **changes,
    )


@pytest.mark.parametrize(("resource", "each", "key", "quota", "limit", "unit"), QUOTAS)
def test_one_models_replicas_may_request_exactly_the_teams_quota(
    resource, each, key, quota, limit, unit
):
    """With the one more pod a rolling update starts (maxSurge 1, maxUnavailable 0): a quota
    of 2 holds one replica and its successor, not two replicas."""
    team = team_data(quota={key: quota})
    assert _stack_problems([team], [_replicas_model(resource, each, 1)]) == []
    refused = _stack_problems([team], [_replicas_model(resource, each, 2)])
    total = 3 * int(each)
    assert refused == [
        (
            f"models[0].resources.{resource}",
            f"2 replica(s) and a rolling update's 1 more request {total} {unit}, more than the "
            f"quota of team 'fraud' ({limit} {unit}): {GENERIC}",
        )
    ]


def test_memory_quota_is_in_gib_of_1024_mib():
    team = team_data(quota={"memory_gib": 3})
    assert _stack_problems([team], [_replicas_model("memory_mb", 1024, 2)]) == []
    refused = _stack_problems([team], [_replicas_model("memory_mb", 1025, 2)])
    assert refused == [
        (
            "models[0].resources.memory_mb",
            "2 replica(s) and a rolling update's 1 more request 3075 MiB, more than the quota of "
            f"team 'fraud' (3072 MiB): {GENERIC}",
        )
    ]


def test_a_team_without_gpu_quota_is_told_to_raise_it():
    refused = _stack_problems([team_data()], [_replicas_model("gpus", 1, 1)])
    assert refused == [
        (
            "models[0].resources.gpus",
            "1 replica(s) and a rolling update's 1 more request 2 GPU(s), more than the quota "
            "of team 'fraud' (0 GPU(s)): the team has no GPU quota: raise quota.gpus of its "
            "Team in the stack file",
        )
    ]


@pytest.mark.parametrize(("resource", "each", "key", "quota", "limit", "unit"), QUOTAS)
def test_the_teams_models_together_may_request_exactly_its_quota(
    resource, each, key, quota, limit, unit
):
    team = team_data(quota={key: 2 * quota})  # two models' replica and successor each
    models = [_replicas_model(resource, each, 1, name=f"m{i}") for i in range(3)]
    assert _stack_problems([team], models[:2]) == []
    total = 2 * 3 * int(each)
    assert _stack_problems([team], models) == [
        (
            f"teams[0].quota.{key}",
            f"the team's EKS models request {total} {unit} together at min_instances with a "
            f"rolling update's pod each; the quota allows {2 * int(limit)} {unit}",
        )
    ]


def test_the_teams_models_may_run_exactly_as_many_pods_as_its_quota():
    """Each model's replicas and a rolling update's one more: 2 + 3 = 5 pods."""
    team = team_data(quota={"pods": 5})
    models = [_replicas_model("cpu", "0.1", 1, name="a"), _replicas_model("cpu", "0.1", 2)]
    assert _stack_problems([team], models) == []
    models[0]["scaling"] = {"min_instances": 2, "max_instances": 2}
    assert _stack_problems([team], models) == [
        (
            "teams[0].quota.pods",
            "the team's EKS models run 6 pods at min_instances with a rolling update's pod "
            "each; the quota allows 5",
        )
    ]
    # one model alone is held to the pod quota as well
    assert _stack_problems([team], [_replicas_model("cpu", "0.1", 5)]) == [
        (
            "teams[0].quota.pods",
            "the team's EKS models run 6 pods at min_instances with a rolling update's pod "
            "each; the quota allows 5",
        )
    ]


def test_a_teams_quota_counts_its_own_eks_models_only():
    """Another team's models, and the team's endpoint models (not in its namespace), do not
    count against it; the problem names the team whose quota it is."""
    teams = [
        team_data(name="fraud", quota={"cpu": 4}),
        team_data(name="growth", quota={"cpu": 2}),
    ]
    fraud = [_replicas_model("cpu", "1", 1, name=f"f{i}") for i in range(2)]
    endpoint = model_data(name="e", team="growth", resources={"memory_mb": 512, "cpu": 8})
    growth = _replicas_model("cpu", "1", 1, name="g", team="growth")
    assert _stack_problems(teams, [*fraud, endpoint, growth]) == []
    over = _replicas_model("cpu", "1", 1, name="g2", team="growth")
    assert _stack_problems(teams, [*fraud, endpoint, growth, over]) == [
        (
            "teams[1].quota.cpu",
            "the team's EKS models request 4 vCPU together at min_instances with a rolling "
            "update's pod each; the quota allows 2 vCPU",
        )
    ]
