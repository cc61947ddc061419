"""The serving metrics' source: gunicorn's statsD lines, mapped by a ``statsd_exporter`` sidecar.

The SageMaker scikit-learn image serves with gunicorn (``components.eks_model``) and has no
Prometheus endpoint of its own. gunicorn instruments every request over statsD when given
``--statsd-host`` (gunicorn docs, "Instrumentation"; ``gunicorn/instrument/statsd.py``, ``access``):

- ``gunicorn.request.duration:<ms>|ms`` — a timer, in milliseconds;
- ``gunicorn.request.status.<code>:1|c|@1.0`` — a counter per HTTP status;
- ``gunicorn.requests``, ``gunicorn.workers``, ``gunicorn.log.*`` — not used, dropped.

The sidecar (``prom/statsd-exporter``, image pinned below) listens on the pod's loopback UDP
port and serves ``/metrics``; this mapping turns the two lines above into the series the rules
read (``metrics.REQUEST_DURATION``, ``metrics.RESPONSES``). statsd_exporter converts ``ms``
timers to seconds (its README, "Metric mapping and configuration": timers are observed in
seconds), so the histogram's buckets are the seconds of ``metrics.LATENCY_BUCKETS``. The scrape
job adds ``namespace`` and ``model`` from the pod (``components.monitoring.scrape_config``).
"""

from __future__ import annotations

import yaml

from infra.declarations.pod_requests import STATSD_EXPORTER
from lifecycle.monitoring import metrics as m

# v0.28.0: the exporter's release of 2024-10 (github.com/prometheus/statsd_exporter releases).
STATSD_EXPORTER_IMAGE = "prom/statsd-exporter:v0.28.0"
STATSD_PORT = 9125  # UDP, on the pod's loopback: gunicorn and the sidecar share the network
METRICS_PORT = 9102  # the exporter's default web listen port
METRICS_PORT_NAME = "metrics"  # what the scrape job keeps pods by
MAPPING_FILE = "mapping.yaml"
MAPPING_CONFIGMAP = "mlplat-statsd-mapping"  # one per team namespace (infra.serving)

DURATION_LINE = "gunicorn.request.duration"
STATUS_LINE = "gunicorn.request.status.*"


def mapping() -> dict:
    """The statsd_exporter mapping: the two serving series, everything else dropped."""
    return {
        "mappings": [
            {
                "match": DURATION_LINE,
                "name": m.REQUEST_DURATION,
                "observer_type": "histogram",
                "histogram_options": {"buckets": list(m.LATENCY_BUCKETS)},
            },
            {"match": STATUS_LINE, "name": m.RESPONSES, "labels": {"code": "$1"}},
            # Unmapped lines would otherwise be exported under generated names (more series).
            {"match": ".", "match_type": "regex", "action": "drop", "name": "dropped"},
        ]
    }


def mapping_text() -> str:
    return yaml.safe_dump(mapping(), sort_keys=False)


def gunicorn_statsd_args() -> list[str]:
    """What makes gunicorn send its statsD lines to the sidecar."""
    return ["--statsd-host", f"localhost:{STATSD_PORT}"]


def exporter_container(security: dict) -> dict:
    """The sidecar: restricted like the server, a few MiB of memory."""
    return {
        "name": "metrics",
        "image": STATSD_EXPORTER_IMAGE,
        "args": [
            f"--statsd.mapping-config=/etc/statsd/{MAPPING_FILE}",
            f"--statsd.listen-udp=:{STATSD_PORT}",
            "--statsd.listen-tcp=",  # gunicorn sends UDP only
            f"--web.listen-address=:{METRICS_PORT}",
        ],
        "ports": [
            {"name": METRICS_PORT_NAME, "containerPort": METRICS_PORT, "protocol": "TCP"},
            {"name": "statsd", "containerPort": STATSD_PORT, "protocol": "UDP"},
        ],
        "resources": {
            "requests": STATSD_EXPORTER.as_kubernetes(),  # as validation counts them
            "limits": {"cpu": "200m", "memory": "64Mi"},
        },
        "readinessProbe": {"httpGet": {"path": "/metrics", "port": METRICS_PORT_NAME}},
        "securityContext": security,
        "volumeMounts": [{"name": "statsd-mapping", "mountPath": "/etc/statsd", "readOnly": True}],
    }


def mapping_volume() -> dict:
    return {"name": "statsd-mapping", "configMap": {"name": MAPPING_CONFIGMAP}}
