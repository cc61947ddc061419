"""Capture files in SageMaker's exact format, for the job's tests and benchmarks (and for trying
a deployed job against a known answer): what a multi-model endpoint with data capture writes
when clients follow the InferenceId contract."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from pathlib import Path


def capture_line(
    row: list[float], *, when: datetime, inference: str | None, encoding: str = "CSV"
) -> str:
    """One capture record, as data capture writes it (CSV, JSON or BASE64 of a CSV body)."""
    csv_body = ",".join(repr(float(value)) for value in row) + "\n"
    if encoding == "CSV":
        data, content_type = csv_body, "text/csv"
    elif encoding == "JSON":
        data, content_type = json.dumps({"instances": [list(row)]}), "application/json"
    elif encoding == "BASE64":
        data, content_type = base64.b64encode(csv_body.encode()).decode(), "text/csv"
    else:
        raise ValueError(f"unknown encoding {encoding!r}")
    metadata = {"eventId": str(uuid.uuid4()), "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if inference is not None:
        metadata["inferenceId"] = inference
    record = {
        "captureData": {
            "endpointInput": {
                "observedContentType": content_type,
                "mode": "INPUT",
                "data": data,
                "encoding": encoding,
            },
            "endpointOutput": {
                "observedContentType": "text/csv; charset=utf-8",
                "mode": "OUTPUT",
                "data": "0.5",
                "encoding": "CSV",
            },
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }
    return json.dumps(record, separators=(",", ":"))


def capture_path(root: Path, endpoint: str, variant: str, hour: datetime, name: str) -> Path:
    """``<root>/<endpoint>/<variant>/yyyy/mm/dd/hh/<name>.jsonl``, as data capture lays it out."""
    return root / endpoint / variant / hour.strftime("%Y/%m/%d/%H") / f"{name}.jsonl"


def write_baseline(path: Path, features: list[str], rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        handle.write(",".join(features) + "\n")
        for row in rows:
            handle.write(",".join(repr(float(v)) for v in row) + "\n")
