"""The drift job: stream a window of capture files, attribute each record to its model version,
compare each version's window with its baseline, publish the results.

Exit codes: 0 when the job ran (drift found or not: drift is a result, not a failure), 2 when its
configuration, an input channel or a baseline is unusable (a message naming model, file and
field; no traceback). AWS errors propagate. Processing marks the job failed on a non-zero exit
code ("How Amazon SageMaker Processing Runs Your Processing Container Image", developer guide).
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from lifecycle.attribution import MalformedInferenceId, kept_by_sampling, parse_inference_id
from lifecycle.drift.baseline import BaselineError, baseline_path, load_baseline
from lifecycle.drift.capture import (
    MalformedRecord,
    capture_files,
    parse_record,
    read_lines,
)
from lifecycle.drift.config import ConfigError, JobConfig, load_config
from lifecycle.drift.publish import (
    metric_data,
    put_metrics,
    put_report,
    record_last_drift,
    report_key,
)
from lifecycle.drift.stats import WindowSummary, compare

REPORT_FILE = "drift-report.json"
REPORT_SCHEMA = 1


@dataclass
class EndpointCounts:
    records: int = 0
    attributed: int = 0
    unattributed: int = 0  # no InferenceId, or one that breaks the contract
    malformed: int = 0
    malformed_reasons: Counter = field(default_factory=Counter)
    outside_window: int = 0
    sampled_out: int = 0  # captured above its model's own rate (MonitoredModel.captured_share)


@dataclass
class Tally:
    files: int = 0
    stray_files: int = 0
    endpoints: dict = field(default_factory=lambda: defaultdict(EndpointCounts))
    unmonitored: Counter = field(default_factory=Counter)  # attributed to an undeclared model
    no_baseline: Counter = field(default_factory=Counter)  # (model, version) -> records


class DriftWindow:
    """Everything the job keeps while it streams: counters and one summary per model version."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config
        self.tally = Tally()
        self.summaries: dict[tuple[str, int], WindowSummary | None] = {}
        self._rng = np.random.default_rng(config.seed)

    def summary_for(self, model: str, version: int) -> WindowSummary | None:
        key = (model, version)
        if key not in self.summaries:
            path = baseline_path(self.config.baseline_dir, model, version)
            if not path.is_file() and self.config.models[model].baseline_uri:
                path = self.config.baseline_dir / model / "declared.csv"
            self.summaries[key] = (
                WindowSummary(
                    load_baseline(path, model, self.config.baseline_rows, self._rng),
                    self.config.reservoir_size,
                    self._rng,
                )
                if path.is_file()
                else None
            )
        return self.summaries[key]

    def add_line(self, endpoint: str, line: str) -> None:
        counts = self.tally.endpoints[endpoint]
        counts.records += 1
        try:
            record = parse_record(line)
        except MalformedRecord as error:
            counts.malformed += 1
            counts.malformed_reasons[error.reason] += 1
            return
        window = self.config.window
        if not window.start <= record.inference_time < window.end:
            counts.outside_window += 1
            return
        try:
            attribution = parse_inference_id(record.inference_id)
        except MalformedInferenceId:
            counts.unattributed += 1
            return
        counts.attributed += 1
        model, version = attribution.model, attribution.version
        if model not in self.config.models:
            self.tally.unmonitored[model] += 1
            return
        if not kept_by_sampling(attribution.token, self.config.models[model].captured_share):
            counts.sampled_out += 1  # captured above the model's own rate
            return
        summary = self.summary_for(model, version)
        if summary is None:
            self.tally.no_baseline[(model, version)] += 1
            return
        try:
            rows = [_row(raw, summary.baseline.features) for raw in record.rows]
        except MalformedRecord as error:
            counts.malformed += 1
            counts.malformed_reasons[error.reason] += 1
            return
        for row in rows:
            summary.add(row)


def _row(raw, features: tuple[str, ...]) -> list[float]:
    """One request row as the baseline's feature vector; MalformedRecord if it does not fit."""
    if isinstance(raw, dict):
        missing = [name for name in features if name not in raw]
        if missing:
            raise MalformedRecord("features", f"missing {missing[:3]}")
        raw = [raw[name] for name in features]
    if len(raw) != len(features):
        raise MalformedRecord("width", f"{len(raw)} values, baseline has {len(features)}")
    if any(isinstance(value, bool) or not isinstance(value, int | float) for value in raw):
        raise MalformedRecord("payload", "a feature value is not a number")
    if not all(math.isfinite(value) for value in raw):
        raise MalformedRecord("payload", "a feature value is not finite")
    return raw


def stream(config: JobConfig) -> DriftWindow:
    if not config.capture_dir.is_dir():
        raise ConfigError(
            f"config.capture_dir: {config.capture_dir} is not a folder (input channel)"
        )
    window = DriftWindow(config)
    files, window.tally.stray_files = capture_files(
        config.capture_dir, config.window.start, config.window.end
    )
    for capture in files:
        window.tally.files += 1
        for line in read_lines(capture):
            window.add_line(capture.endpoint, line)
    return window


def model_results(window: DriftWindow) -> list[dict]:
    config = window.config
    results = []
    for (model, version), summary in sorted(window.summaries.items()):
        entry = {"model": model, "version": version, "team": config.models[model].team}
        if summary is None:
            entry.update(
                status="no_baseline",
                rows=window.tally.no_baseline[(model, version)],
                features=[],
                driftedFeatures=[],
                driftedShare=0.0,
            )
            results.append(entry)
            continue
        entry["rows"] = summary.rows
        if summary.rows < config.min_rows:
            entry.update(
                status="insufficient_data", features=[], driftedFeatures=[], driftedShare=0.0
            )
            results.append(entry)
            continue
        watched = config.models[model].features
        features = [
            f
            for f in compare(summary, config.method, config.drift_threshold)
            if watched is None or f.name in watched
        ]
        if not features:  # none of the declared features is in the baseline
            entry.update(
                status="no_watched_features", features=[], driftedFeatures=[], driftedShare=0.0
            )
            results.append(entry)
            continue
        drifted = [f.name for f in features if f.drifted]
        needed = max(1, math.ceil(config.drift_share * len(features)))
        entry.update(
            status="drift" if len(drifted) >= needed else "no_drift",
            sampledRows=len(summary.reservoir.sample()),
            driftedFeatures=drifted,
            driftedShare=len(drifted) / len(features),
            features=[
                {
                    "name": f.name,
                    "score": f.ks_statistic if config.method == "ks" else f.psi,
                    "ksStatistic": f.ks_statistic,
                    "pValue": f.p_value,
                    "psi": f.psi,
                    "drifted": f.drifted,
                }
                for f in features
            ],
        )
        results.append(entry)
    return results


def build_report(window: DriftWindow) -> dict:
    config, tally = window.config, window.tally
    return {
        "schemaVersion": REPORT_SCHEMA,
        "environment": config.environment,
        "window": {"start": config.window.start.isoformat(), "end": config.window.end.isoformat()},
        "method": config.method,
        "threshold": config.drift_threshold,
        "driftShare": config.drift_share,
        "files": tally.files,
        "strayFiles": tally.stray_files,
        "endpoints": {
            name: {
                "records": c.records,
                "attributed": c.attributed,
                "unattributed": c.unattributed,
                "malformed": c.malformed,
                "malformedReasons": dict(sorted(c.malformed_reasons.items())),
                "outsideWindow": c.outside_window,
                "sampledOut": c.sampled_out,
            }
            for name, c in sorted(tally.endpoints.items())
        },
        "unmonitoredModels": dict(sorted(tally.unmonitored.items())),
        "models": model_results(window),
    }


def publish(config: JobConfig, report: dict, clients) -> None:
    """S3 reports per model, registry ``lastDrift``, CloudWatch metrics; in that order, so an
    alarm never fires on a result whose report is not readable yet."""
    evaluated_at = datetime.now(UTC).isoformat()
    for result in report["models"]:
        if config.report_bucket:
            key = report_key(
                config.report_prefix,
                result["team"],
                result["model"],
                result["version"],
                report["window"]["end"],
            )
            body = {
                k: report[k]
                for k in (
                    "schemaVersion",
                    "environment",
                    "window",
                    "method",
                    "threshold",
                    "driftShare",
                )
            }
            result["reportUri"] = put_report(
                clients.s3, config.report_bucket, key, {**body, "result": result}
            )
        if config.registry_table:
            status = {
                "status": result["status"],
                "windowStart": report["window"]["start"],
                "windowEnd": report["window"]["end"],
                "rows": result["rows"],
                "driftedFeatures": result["driftedFeatures"],
                "reportUri": result.get("reportUri", ""),
                "evaluatedAt": evaluated_at,
            }
            result["registryUpdated"] = record_last_drift(
                clients.dynamodb,
                config.registry_table,
                result["team"],
                result["model"],
                result["version"],
                status,
            )
    data = metric_data(report, feature_metrics=config.feature_metrics)
    report["metricRequests"] = put_metrics(clients.cloudwatch, config.metric_namespace, data)


class Clients:
    """The AWS clients the job publishes with, created on first use."""

    def __init__(self, region: str | None) -> None:
        import boto3

        self._session = boto3.session.Session(region_name=region)
        self._clients: dict = {}

    def __getattr__(self, service: str):
        if service.startswith("_"):
            raise AttributeError(service)
        if service not in self._clients:
            self._clients[service] = self._session.client(service)
        return self._clients[service]


def fetch_declared_baselines(config: JobConfig, s3) -> None:
    """Models that declare a baseline CSV in S3: copy it to where the job reads baselines
    (versions without a file there get the declared one; the channel's own files win)."""
    for model, monitored in sorted(config.models.items()):
        if monitored.baseline_uri is None:
            continue
        bucket, _, key = monitored.baseline_uri.removeprefix("s3://").partition("/")
        target = config.baseline_dir / model / "declared.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))


def run(config: JobConfig, clients) -> dict:
    if any(m.baseline_uri for m in config.models.values()):
        fetch_declared_baselines(config, clients.s3)
    window = stream(config)
    report = build_report(window)
    publish(config, report, clients)
    config.output_dir.mkdir(parents=True, exist_ok=True)
    (config.output_dir / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None, clients=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        config = load_config(argv)
        report = run(config, clients or Clients(config.region))
    except (ConfigError, BaselineError) as error:
        print(f"drift job: {error}", file=sys.stderr)
        return 2
    drifted = [f"{m['model']}@v{m['version']}" for m in report["models"] if m["status"] == "drift"]
    print(f"drift job: {len(report['models'])} model versions, drift in {drifted or 'none'}")
    return 0
