"""What one pod of an EKS model asks its node and its namespace's quota for.

The model server requests the model's ``resources``; sidecars add theirs: the statsD exporter of
a model served by the SageMaker scikit-learn image (its serving metrics), and the events gateway
of a model that publishes prediction events. Kubernetes charges a pod, per resource, the larger
of its containers' sum and its largest init container's request (the "effective request":
Kubernetes documentation, "Init Containers", resource sharing within containers); the scheduler
places a pod by it, and a ResourceQuota's ``requests.*`` count it for every pod that is not
terminated ("Resource Quotas"). So the checks in ``scheduling.py`` count these figures, which
``components/eks_model.py`` and the sidecars' builders set on each container: one place, so the
two cannot drift apart (a test compares them with every rendered pod).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from infra.declarations.model import ModelDeclaration


@dataclass(frozen=True)
class ContainerRequests:
    cpu: Decimal
    memory_mb: int

    def as_kubernetes(self) -> dict[str, str]:
        return {"cpu": str(self.cpu), "memory": f"{self.memory_mb}Mi"}


# Each init container (fetch-model, unpack-model: one at a time, before the pod's containers).
INIT_CONTAINER = ContainerRequests(Decimal("0.1"), 128)
STATSD_EXPORTER = ContainerRequests(Decimal("0.05"), 32)
EVENTS_GATEWAY = ContainerRequests(Decimal("0.1"), 128)


# Deployments roll with maxSurge 1 and maxUnavailable 0 (components/eks_model.py): one more pod
# of a model at a time, which the namespace's ResourceQuota must admit, or the rollout never
# moves and `pulumi up` waits for it until it times out.
ROLLOUT_SURGE_PODS = 1


def is_sklearn_served(model: ModelDeclaration) -> bool:
    """Served by the SageMaker scikit-learn image with the archive's code/inference.py."""
    return model.framework == "sklearn" and not model.image


def sidecars(model: ModelDeclaration, kafka: bool) -> tuple[ContainerRequests, ...]:
    """The containers a model's pod runs beside its server. ``kafka``: the environment has
    prediction events on (``streaming.enabled``); without it a declaring model runs no gateway
    (``infra/declarations/events.py``)."""
    return (
        *((STATSD_EXPORTER,) if is_sklearn_served(model) else ()),
        *((EVENTS_GATEWAY,) if kafka and model.events is not None else ()),
    )


@dataclass(frozen=True)
class PodRequests:
    cpu: Decimal
    memory_mb: Decimal
    gpus: Decimal
    sidecar_cpu: Decimal
    sidecar_memory_mb: Decimal
    # The resources ("cpu", "memory_mb") where an init container asks more than the containers.
    init_bound: tuple[str, ...] = ()


def pod_requests(model: ModelDeclaration, kafka: bool) -> PodRequests:
    """One replica's effective requests (GPUs: the server's only)."""
    extra = sidecars(model, kafka)
    sidecar_cpu = sum((c.cpu for c in extra), Decimal(0))
    sidecar_memory = Decimal(sum(c.memory_mb for c in extra))
    containers = {
        "cpu": Decimal(model.resources.cpu) + sidecar_cpu,
        "memory_mb": Decimal(model.resources.memory_mb) + sidecar_memory,
    }
    init = {"cpu": INIT_CONTAINER.cpu, "memory_mb": Decimal(INIT_CONTAINER.memory_mb)}
    return PodRequests(
        cpu=max(containers["cpu"], init["cpu"]),
        memory_mb=max(containers["memory_mb"], init["memory_mb"]),
        gpus=Decimal(model.resources.gpus),
        sidecar_cpu=sidecar_cpu,
        sidecar_memory_mb=sidecar_memory,
        init_bound=tuple(name for name in containers if init[name] > containers[name]),
    )
