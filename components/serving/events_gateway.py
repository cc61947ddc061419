"""The events gateway in an EKS model's pod (``lifecycle/events/gateway``), as a container.

When the model publishes events (``model.events`` and the environment's Kafka), the gateway takes
the pod's ``http`` port, which the Service and the Ingress target by name: every request, the
load balancer's health check and the readiness probe go through it to the model server, whose
own port is renamed ``model`` (8080, where the SageMaker serving contract puts it) and keeps its
own liveness probe. The gateway is restricted like the other containers, requests little CPU and
has no CPU limit (a throttled proxy would slow every request), and stops within the pod's grace:
preStop as long as the server's, then at most ``FLUSH_SECONDS`` to finish requests in flight and
flush the producer, before the kubelet's SIGKILL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.serving.draining import PRE_STOP_SECONDS, TERMINATION_GRACE_SECONDS
from infra.declarations.pod_requests import EVENTS_GATEWAY
from lifecycle.events.gateway import LISTEN_PORT, METRICS_PORT, METRICS_PORT_NAME

CONTAINER = "events"
# On the pods that run the gateway: their namespace's policy then admits the VPC to the
# gateway's port and not to the model server's, so no caller can skip the events
# (components/tenancy.py, serving_ingress).
POD_LABEL = "mlplat.io/events-gateway"


def pod_labels(events: EventsTarget | None) -> dict[str, str]:
    return {POD_LABEL: "true"} if events is not None else {}


MODEL_PORT_NAME = "model"  # the model server's port when the gateway owns "http"
# SIGTERM arrives after the preStop sleep; 15 s are left for the process to exit after flushing.
FLUSH_SECONDS = TERMINATION_GRACE_SECONDS - PRE_STOP_SECONDS - 15
QUEUE_SIZE = 10_000  # predictions waiting to be published; more are dropped (and counted)
QUEUE_MIB = 64  # ... and at most this much of their bodies, and as much in the producer's buffer
RESOURCES = {
    "requests": EVENTS_GATEWAY.as_kubernetes(),  # as validation counts them
    # Both queues full (2 × QUEUE_MIB), a request in flight and the interpreter's own.
    "limits": {"memory": "256Mi"},
}


@dataclass(frozen=True)
class EventsTarget:
    """Where a model's events go: the team's topic on the platform's cluster, and the image."""

    cluster_arn: pulumi.Input[str]
    topic: str
    bootstrap_brokers: pulumi.Input[str]
    image: str
    region: str


def gateway_container(
    model: str, version: int, target: EventsTarget, *, model_port: int, security: dict
) -> dict[str, Any]:
    """``target.bootstrap_brokers`` resolved (a plain string)."""
    env = {
        "MLPLAT_MODEL": model,
        "MLPLAT_MODEL_VERSION": str(version),
        "MLPLAT_EVENTS_TOPIC": target.topic,
        "MLPLAT_KAFKA_BOOTSTRAP": str(target.bootstrap_brokers),
        "AWS_REGION": target.region,  # the signer signs for the cluster's region
        "MLPLAT_MODEL_PORT": str(model_port),
        "MLPLAT_GATEWAY_PORT": str(LISTEN_PORT),
        "MLPLAT_GATEWAY_METRICS_PORT": str(METRICS_PORT),
        "MLPLAT_EVENTS_QUEUE": str(QUEUE_SIZE),
        "MLPLAT_EVENTS_QUEUE_BYTES": str(QUEUE_MIB * 1024 * 1024),
        "MLPLAT_EVENTS_FLUSH_SECONDS": str(FLUSH_SECONDS),
    }
    return {
        "name": CONTAINER,
        "image": target.image,
        "command": ["python3", "-m", "lifecycle.events.gateway"],
        "ports": [
            {"name": "http", "containerPort": LISTEN_PORT, "protocol": "TCP"},
            {"name": METRICS_PORT_NAME, "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        "env": [{"name": name, "value": value} for name, value in env.items()],
        "resources": RESOURCES,
        # Ready when the model answers through it; alive while it answers itself.
        "readinessProbe": {
            "httpGet": {"path": "/ping", "port": "http"},
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": METRICS_PORT_NAME},
            "periodSeconds": 10,
            "failureThreshold": 6,
        },
        "securityContext": security,
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
    }
