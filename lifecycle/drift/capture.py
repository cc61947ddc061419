"""Reading SageMaker data-capture files: which files belong to a window, and what a line holds.

Layout (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html):
``s3://<destination prefix>/<endpoint-name>/<variant-name>/yyyy/mm/dd/hh/<file>.jsonl``, the hour
being the invocation's (UTC). A Processing input with ``S3DataType=S3Prefix`` downloads every
object under its ``S3Uri`` to its ``LocalPath``, which must begin with ``/opt/ml/processing/``
(API reference, ProcessingS3Input). The job expects the keys' structure below the prefix to be
kept on disk (the reference does not spell this out) and the ``S3Uri`` to be the capture
destination itself, so each file's path ends in ``<endpoint>/<variant>/yyyy/mm/dd/hh/<file>``;
files that do not are counted as stray and reported, not read.

Line (same page): ``{"captureData": {"endpointInput": {"observedContentType", "mode": "INPUT",
"data", "encoding": "CSV"|"JSON"|"BASE64"}, "endpointOutput": {...}}, "eventMetadata":
{"eventId", "inferenceTime", "inferenceId"?}, "eventVersion": "0"}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path


class MalformedRecord(ValueError):
    """A capture line the job cannot read; ``reason`` is the report's counter name."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class CaptureFile:
    path: Path
    endpoint: str
    variant: str
    hour: datetime  # start of the hour the path names


@dataclass(frozen=True)
class CaptureRecord:
    inference_id: str | None
    inference_time: datetime
    rows: list  # rows of the request: list of lists of numbers, or of dicts (JSON objects)


def capture_files(root: Path, start: datetime, end: datetime) -> tuple[list[CaptureFile], int]:
    """The capture files under ``root`` whose hour overlaps [start, end), sorted; and how many
    ``.jsonl`` files did not follow the layout (reported, not read)."""
    selected, stray = [], 0
    for path in sorted(root.rglob("*.jsonl")):
        parts = path.relative_to(root).parts
        if len(parts) < 7:
            stray += 1
            continue
        endpoint, variant, year, month, day, hour = parts[-7:-1]
        try:
            start_of_hour = datetime(int(year), int(month), int(day), int(hour), tzinfo=UTC)
        except ValueError:
            stray += 1
            continue
        if start_of_hour < end and start_of_hour + timedelta(hours=1) > start:
            selected.append(CaptureFile(path, endpoint, variant, start_of_hour))
    return selected, stray


def read_lines(file: CaptureFile) -> Iterator[str]:
    """A file's non-empty lines, one at a time (never the whole file in memory)."""
    with file.path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                yield line


def parse_time(value: str) -> datetime:
    """``inferenceTime`` as AWS writes it (``2022-02-14T17:25:49Z``), timezone-aware."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_record(line: str) -> CaptureRecord:
    """One capture line: its InferenceId, time and request rows; MalformedRecord otherwise."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise MalformedRecord("json", str(error)) from None
    try:
        endpoint_input = record["captureData"]["endpointInput"]
        metadata = record["eventMetadata"]
        data, encoding = endpoint_input["data"], endpoint_input["encoding"]
        content_type = endpoint_input.get("observedContentType", "")
        time_text = metadata["inferenceTime"]
    except (KeyError, TypeError) as error:
        raise MalformedRecord("shape", f"missing field {error}") from None
    try:
        inference_time = parse_time(time_text)
    except (ValueError, AttributeError):
        raise MalformedRecord("time", f"inferenceTime {time_text!r}") from None
    rows = decode_payload(data, encoding, content_type)
    return CaptureRecord(metadata.get("inferenceId"), inference_time, rows)


def decode_payload(data: str, encoding: str, content_type: str) -> list:
    """The request's rows. CSV: one row per line. JSON: a row (list of numbers or an object of
    named features), a list of rows, or ``{"instances": rows}`` / ``{"inputs": rows}``. BASE64:
    the bytes as sent, read as JSON or CSV by ``observedContentType``."""
    if encoding == "BASE64":
        try:
            text = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            raise MalformedRecord("encoding", f"BASE64 data: {error}") from None
        encoding = "JSON" if "json" in content_type.lower() else "CSV"
        data = text
    if encoding == "CSV":
        return _csv_rows(data)
    if encoding == "JSON":
        return _json_rows(data)
    raise MalformedRecord("encoding", f"unknown encoding {encoding!r}")


def _csv_rows(text: str) -> list[list[float]]:
    try:
        rows = [[float(cell) for cell in line.split(",")] for line in text.splitlines() if line]
    except ValueError as error:
        raise MalformedRecord("payload", f"CSV: {error}") from None
    if not rows:
        raise MalformedRecord("payload", "CSV: no rows")
    return rows


def _json_rows(text: str) -> list:
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedRecord("payload", f"JSON: {error}") from None
    if isinstance(body, dict):
        for key in ("instances", "inputs"):
            if key in body:
                body = body[key]
                break
        else:
            return [body]  # one row of named features
    if isinstance(body, list) and body and all(isinstance(v, int | float) for v in body):
        return [body]
    if isinstance(body, list) and body and all(isinstance(r, list | dict) for r in body):
        return body
    raise MalformedRecord("payload", "JSON: not a row, a list of rows, or {'instances': rows}")
