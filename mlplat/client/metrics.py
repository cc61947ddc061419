"""Per-model call metrics as CloudWatch embedded metric format (EMF) lines.

One JSON line per call, written to a sink (stdout by default: Lambda, the CloudWatch agent and
Fluent Bit on EKS ship stdout to CloudWatch Logs, which extracts the metrics). Written by hand,
not with aws-embedded-metrics: the format is one documented JSON object, and the library's
environment detection and asynchronous flushing add nothing a synchronous client needs.
Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
(``_aws.Timestamp`` in epoch milliseconds, ``CloudWatchMetrics`` directives with ``Namespace``,
``Dimensions`` as arrays of dimension-key sets, ``Metrics`` with ``Name`` and ``Unit``; the
values are root members). On a multi-model endpoint these are the only per-model figures:
SageMaker's own invocation metrics count all models of the endpoint together.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass

NAMESPACE = "mlplat/Models"
DIMENSIONS = [["Model", "Version"], ["Model"]]
METRICS = [
    {"Name": "Latency", "Unit": "Milliseconds"},
    {"Name": "Errors", "Unit": "Count"},
    {"Name": "Throttles", "Unit": "Count"},
    {"Name": "Attempts", "Unit": "Count"},
]

Sink = Callable[[str], None]


def stdout_sink(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class CallRecord:
    model: str
    version: int
    backend: str
    latency_ms: float
    attempts: int
    throttles: int
    outcome: str  # "ok" or the error type's name
    inference_id: str | None = None


def emf_line(record: CallRecord, timestamp_ms: int) -> str:
    document = {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {"Namespace": NAMESPACE, "Dimensions": DIMENSIONS, "Metrics": METRICS}
            ],
        },
        "Model": record.model,
        "Version": str(record.version),
        "Backend": record.backend,
        "Outcome": record.outcome,
        "InferenceId": record.inference_id,
        "Latency": round(record.latency_ms, 3),
        "Errors": 0 if record.outcome == "ok" else 1,
        "Throttles": record.throttles,
        "Attempts": record.attempts,
    }
    return json.dumps(document, separators=(",", ":"))
