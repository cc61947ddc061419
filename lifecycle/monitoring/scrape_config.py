"""What the AMP managed scraper collects: the scrape configuration it is created with.

Targets (found by Kubernetes service discovery, as the managed collector supports it: AMP user
guide, "Scraper configuration"):
- ``model-serving``: every pod with a container port named ``metrics`` (the statsd_exporter
  sidecar of ``components.eks_model``) or ``events-metrics`` (the events gateway's counters);
  ``namespace`` and ``model`` (the pod label ``mlplat.io/model``) are attached to its series,
  which the rules aggregate by;
- the exporters' Services (``components.monitoring``): kube-state-metrics, node exporter and
  DCGM exporter. Their own ``namespace``/``pod`` labels describe the object measured, not the
  exporter, so they are kept (``honor_labels``).
"""

from __future__ import annotations

import yaml

from lifecycle.events import gateway as events_gateway
from lifecycle.monitoring import statsd_mapping

MONITORING_NAMESPACE = "monitoring"
# Release names in MONITORING_NAMESPACE; each chart names its Service after the release.
KUBE_STATE_METRICS = "kube-state-metrics"
NODE_EXPORTER = "prometheus-node-exporter"
DCGM_EXPORTER = "dcgm-exporter"
EXPORTER_SERVICES = (KUBE_STATE_METRICS, NODE_EXPORTER, DCGM_EXPORTER)


def _exporter_job(service: str) -> dict:
    return {
        "job_name": service,
        "honor_labels": True,
        "kubernetes_sd_configs": [{"role": "endpoints"}],
        "relabel_configs": [
            {
                "source_labels": [
                    "__meta_kubernetes_namespace",
                    "__meta_kubernetes_service_name",
                ],
                "regex": f"{MONITORING_NAMESPACE};{service}",
                "action": "keep",
            }
        ],
    }


def serving_job() -> dict:
    return {
        "job_name": "model-serving",
        "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            {
                "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                # The serving metrics, and the events gateway's (lifecycle/events/gateway).
                "regex": f"{statsd_mapping.METRICS_PORT_NAME}|{events_gateway.METRICS_PORT_NAME}",
                "action": "keep",
            },
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {
                "source_labels": ["__meta_kubernetes_pod_label_mlplat_io_model"],
                "target_label": "model",
            },
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ],
    }


def scrape_config(interval_seconds: int) -> dict:
    return {
        "global": {"scrape_interval": f"{interval_seconds}s"},
        "scrape_configs": [serving_job(), *map(_exporter_job, EXPORTER_SERVICES)],
    }


def scrape_config_text(interval_seconds: int) -> str:
    """As ``aws.amp.Scraper(scrape_configuration=...)`` takes it (YAML)."""
    return yaml.safe_dump(scrape_config(interval_seconds), sort_keys=False)
