"""The metric names the alert rules read, and what emits each one (the contract a scraper and
the dashboards will share).

Serving metrics (EKS models). The SageMaker scikit-learn image's server (gunicorn, started by
``components.eks_model.sklearn_server_command``) has no Prometheus endpoint; it sends statsD
(``--statsd-host``) to a ``statsd_exporter`` sidecar in the same pod, whose mapping
(``lifecycle.monitoring.statsd_mapping``) exports the two series below; the managed scraper's job
(``components.monitoring.scrape_config``) attaches ``namespace`` (the team's) and ``model`` (the
pod label ``mlplat.io/model``). A model on its own image (``image=``) or another framework's
server has no sidecar: it must serve these names itself, or its serving alerts stay silent and
``ModelNoTraffic`` (which reads kube-state-metrics for the running pods) fires.

Kubernetes metrics (real, from the exporters the issue pins; names checked against
kube-state-metrics docs/horizontalpodautoscaler-metrics.md and pod-metrics.md, v2.x, and
NVIDIA dcgm-exporter's default counters, which in Kubernetes mode carry ``namespace``, ``pod``
and ``container`` of the pod holding the GPU).
"""

from __future__ import annotations

# The histogram's buckets (seconds) the sidecar mapping declares: the latency objectives must
# fall on a bucket boundary or p99 is interpolated across a wide bucket (declared with them).
from infra.declarations.objectives import LATENCY_BUCKETS

# Serving (gunicorn statsD -> statsd_exporter sidecar).
REQUEST_DURATION = "mlplat_model_request_duration_seconds"  # histogram: _bucket{le}, _sum, _count
RESPONSES = "mlplat_model_responses_total"  # counter, label ``code`` (HTTP status)
SERVING_LABELS = ("namespace", "model")

# kube-state-metrics (v2.x).
POD_RESTARTS = "kube_pod_container_status_restarts_total"  # namespace, pod, container
DEPLOYMENT_AVAILABLE = "kube_deployment_status_replicas_available"  # namespace, deployment
HPA_CURRENT = "kube_horizontalpodautoscaler_status_current_replicas"  # namespace, hpa name
HPA_MAX = "kube_horizontalpodautoscaler_spec_max_replicas"
HPA_LABEL = "horizontalpodautoscaler"

# NVIDIA dcgm-exporter (per GPU; namespace, pod, container when a pod holds the GPU).
GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"  # percent
GPU_MEMORY_USED = "DCGM_FI_DEV_FB_USED"  # MiB
GPU_MEMORY_FREE = "DCGM_FI_DEV_FB_FREE"  # MiB

# The container of a model's pod that serves it (components.eks_model.server_container).
SERVER_CONTAINER = "model"

# Recorded once for every model (prometheus_rules.recording_group), read by the alerts.
REQUEST_RATE = "namespace_model:mlplat_model_requests:rate5m"
ERROR_RATE = "namespace_model:mlplat_model_errors:rate5m"
LATENCY_P99 = "namespace_model:mlplat_model_request_duration_seconds:p99_5m"

# Series estimate (what AMP bills and its active-series quota counts), per the sources above:
RESPONSE_CODES = 3  # distinct status codes a model answers with, typically 200, 4xx, 5xx
POD_CONTAINERS = 3  # the server and the two init containers (fetch-model, unpack-model)
GPU_SERIES = 3  # GPU_UTIL, GPU_MEMORY_USED, GPU_MEMORY_FREE per GPU


def series_per_pod(gpus: int) -> int:
    serving = (len(LATENCY_BUCKETS) + 1) + 2 + RESPONSE_CODES  # buckets with +Inf, _sum, _count
    return serving + POD_CONTAINERS + GPU_SERIES * gpus


def series_per_model(gpus: int, replicas: int) -> int:
    """The model's series with ``replicas`` pods: its pods', its Deployment's and HPA's, and
    the three recorded ones."""
    return replicas * series_per_pod(gpus) + 1 + 2 + 3


def estimated_series(models, replicas: str = "min") -> int:
    """The environment's serving series at each EKS model's ``min`` replicas (what runs
    steadily: what AMP bills ingestion on) or ``max`` (the peak AMP's active-series and ingestion
    quotas must hold); the exporters' node and cluster series come on top."""
    return sum(
        series_per_model(model.resources.gpus, getattr(model.scaling, f"{replicas}_instances"))
        for model in models
        if model.serving == "eks"
    )


EMITTED = {
    "statsd_exporter sidecar": (
        f"{REQUEST_DURATION}_bucket",
        f"{REQUEST_DURATION}_sum",
        f"{REQUEST_DURATION}_count",
        RESPONSES,
    ),
    "kube-state-metrics": (POD_RESTARTS, DEPLOYMENT_AVAILABLE, HPA_CURRENT, HPA_MAX),
    "dcgm-exporter": (GPU_UTIL, GPU_MEMORY_USED, GPU_MEMORY_FREE),
    "recording rules": (REQUEST_RATE, ERROR_RATE, LATENCY_P99),
}
