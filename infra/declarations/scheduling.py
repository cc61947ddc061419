"""Whether an EKS model's pods can ever be scheduled: the team's quota and the cluster's nodes.

A pod's requests are its server's and its sidecars' together (``pod_requests.py``).

A pod whose requests exceed its namespace's ResourceQuota is refused by the API server, and one
that no node can hold stays Pending; either way `pulumi up` waits for a Deployment that never
becomes ready. Both are decided by plain numbers known at validation, so they are checked there.

Node allocatable is approximated from the instance catalog as the EKS AMIs reserve it (kubelet
``kube-reserved``; https://wcarlsen.github.io/2026-06-16-aws-eks-node-resource-reservation/, the
bootstrap script's formula): memory 255 MiB + 11 MiB per pod, with the pod count taken as 110 (the
recommended ceiling; most instance types allow fewer, so this over-reserves a little), plus the
100 MiB hard-eviction threshold; CPU 6% of the first core, 1% of the second, 0.5% of the third
and fourth, 0.25% of the rest. DaemonSets (VPC CNI, kube-proxy, the observability agent) request
a little more, which ``DAEMONSET_*`` leaves aside. It is an estimate: the real figure is
``kubectl describe node``'s Allocatable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from infra import catalog
from infra.declarations.environment import ClusterSettings, NodeGroupSettings, Team
from infra.declarations.errors import Problem
from infra.declarations.model import ModelDeclaration, ServingTarget
from infra.declarations.pod_requests import ROLLOUT_SURGE_PODS, PodRequests, pod_requests

PODS_RESERVED_FOR = 110
EVICTION_MIB = 100
DAEMONSET_CPU = Decimal("0.2")
DAEMONSET_MIB = 256


@dataclass(frozen=True)
class Allocatable:
    instance_type: str
    cpu: Decimal
    memory_mb: int
    gpus: int


def allocatable(instance_type: str) -> Allocatable | None:
    instance = catalog.EC2_INSTANCE_TYPES.get(instance_type)
    if instance is None:
        return None
    shares = [Decimal("0.06"), Decimal("0.01"), Decimal("0.005"), Decimal("0.005")]
    reserved_cpu = sum(shares[: instance.vcpu]) + Decimal("0.0025") * max(instance.vcpu - 4, 0)
    reserved_mb = 255 + 11 * PODS_RESERVED_FOR + EVICTION_MIB + DAEMONSET_MIB
    return Allocatable(
        instance_type=instance_type,
        # In millicores, rounded down: the bootstrap reserves whole millicores (it floors the
        # 0.25% share), and a pod's fit must not be judged on a fraction the node lacks.
        cpu=(Decimal(instance.vcpu) - reserved_cpu - DAEMONSET_CPU).quantize(
            Decimal("0.001"), rounding=ROUND_DOWN
        ),
        memory_mb=instance.memory_mb - reserved_mb,
        gpus=instance.gpus,
    )


def eligible_node_groups(
    model: ModelDeclaration, cluster: ClusterSettings
) -> dict[str, NodeGroupSettings]:
    """Node groups a model's pods may land on: GPU pods only on GPU nodes (the others have no
    nvidia.com/gpu), spot-tolerant pods also on spot nodes (tainted for everyone else)."""
    if model.uses_gpu:
        return {"gpuNodes": cluster.gpu_nodes}
    groups = {"systemNodes": cluster.system_nodes}
    if model.accepts_spot:
        groups["spotNodes"] = cluster.spot_nodes
    return groups


def node_problems(
    model: ModelDeclaration, cluster: ClusterSettings, kafka: bool
) -> Iterator[Problem]:
    """Paths are relative to the model; ``kafka``: prediction events are on (pod_requests)."""
    groups = eligible_node_groups(model, cluster)
    nodes = [
        node
        for group in groups.values()
        for node in map(allocatable, group.instance_types)
        if node is not None
    ]
    where = " or ".join(f"cluster.{role}" for role in groups)
    if not nodes:  # every instance type is unknown (each reported at its own path as well)
        yield Problem("resources", f"no node can run it: {where} has no known instance type")
        return
    wanted = pod_requests(model, kafka)
    if any(
        wanted.cpu <= n.cpu and wanted.memory_mb <= n.memory_mb and wanted.gpus <= n.gpus
        for n in nodes
    ):
        return
    largest = max(nodes, key=lambda n: (n.gpus, n.memory_mb, n.cpu))
    yield Problem(
        "resources",
        f"one replica requests {wanted.cpu} vCPU, {wanted.memory_mb} MiB and {wanted.gpus} GPU(s)"
        f"{_breakdown(wanted)}; "
        f"the largest node of {where} ({largest.instance_type}) offers about "
        f"{largest.cpu.normalize():f} vCPU, "
        f"{largest.memory_mb} MiB and {largest.gpus} GPU(s) to pods, so it would stay Pending: "
        "lower the request, or add a larger instance type to that node group",
    )


def quota_problems(
    models: list[tuple[ModelDeclaration, str]], team: Team, team_path: str, kafka: bool
) -> Iterator[Problem]:
    """Each model's pods, and the team's EKS models' together, against the namespace's
    ResourceQuota (requests.cpu, requests.memory, requests.nvidia.com/gpu, pods): min_instances
    replicas plus the one more a rolling update starts (``ROLLOUT_SURGE_PODS``), for every model
    at once, since one `pulumi up` may roll them all (a new image, a changed pod template)."""
    quota = team.quota
    limits = {
        "cpu": (Decimal(quota.cpu), "vCPU", "cpu"),
        "memory_mb": (Decimal(quota.memory_gib * 1024), "MiB", "memory_gib"),
        "gpus": (Decimal(quota.gpus), "GPU(s)", "gpus"),
    }
    totals = dict.fromkeys(limits, Decimal(0))
    for model, path in models:
        replicas = model.scaling.min_instances
        pod = pod_requests(model, kafka)
        for name, (limit, unit, _) in limits.items():
            request = getattr(pod, name) * (replicas + ROLLOUT_SURGE_PODS)
            totals[name] += request
            if request > limit:
                hint = (
                    "the team has no GPU quota: raise quota.gpus of its Team in the stack file"
                    if name == "gpus" and limit == 0
                    else "lower the request or min_instances, or raise the team's quota"
                )
                yield Problem(
                    f"{path}.resources.{name}",
                    f"{replicas} replica(s) and a rolling update's {ROLLOUT_SURGE_PODS} more "
                    f"request {request} {unit}{_breakdown(pod, name)}, more than the quota of "
                    f"team {team.name!r} ({limit} {unit}): {hint}",
                )
    if len(models) > 1:
        for name, (limit, unit, key) in limits.items():
            if totals[name] > limit:
                yield Problem(
                    f"{team_path}.quota.{key}",
                    f"the team's EKS models request {totals[name]} {unit} together at "
                    f"min_instances with a rolling update's pod each; the quota allows "
                    f"{limit} {unit}",
                )
    pods = sum(model.scaling.min_instances + ROLLOUT_SURGE_PODS for model, _ in models)
    if pods > quota.pods:
        yield Problem(
            f"{team_path}.quota.pods",
            f"the team's EKS models run {pods} pods at min_instances with a rolling update's "
            f"pod each; the quota allows {quota.pods}",
        )


def _breakdown(pod: PodRequests, resource: str = "") -> str:
    """What a pod's request is made of beyond the model's own: sidecars (never GPUs), or an
    init container asking more than the pod's containers."""
    if resource in pod.init_bound:
        unit = "vCPU" if resource == "cpu" else "MiB"
        return f" (each pod at least its init containers' {getattr(pod, resource)} {unit})"
    if resource == "gpus" or not (pod.sidecar_cpu or pod.sidecar_memory_mb):
        return ""
    return f" (its sidecars' {pod.sidecar_cpu} vCPU and {pod.sidecar_memory_mb} MiB included)"


def scheduling_problems(
    models: list[ModelDeclaration | None],
    teams: list[Team | None],
    cluster: ClusterSettings | None,
    kafka: bool,
) -> Iterator[Problem]:
    """Problems with full paths (``models[i].resources...``) for the loader to name; ``kafka``:
    the environment has prediction events on (its declaring models' pods run the gateway)."""
    eks = [
        (model, f"models[{index}]")
        for index, model in enumerate(models)
        if model is not None and model.serving is ServingTarget.EKS
    ]
    if cluster is not None:
        for model, path in eks:
            for problem in node_problems(model, cluster, kafka):
                yield Problem(f"{path}.{problem.path}", problem.message)
    for index, team in enumerate(teams):
        if team is not None:
            own = [(model, path) for model, path in eks if model.team == team.name]
            yield from quota_problems(own, team, f"teams[{index}]", kafka)
