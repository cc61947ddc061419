"""The drift job run as its Processing container runs it: config in the environment, capture
files of a multi-model endpoint under the input channel, a report in the output channel, and
results in S3, DynamoDB and CloudWatch (moto)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import numpy as np
import pytest
from moto import mock_aws

from components.data import REGISTRY_KEYS, model_key
from lifecycle.attribution import inference_id
from lifecycle.drift.baseline import baseline_path
from lifecycle.drift.config import CONFIG_ENV
from lifecycle.drift.job import REPORT_FILE, main
from lifecycle.drift.synthetic import capture_line, capture_path, write_baseline
from tests.lifecycle.stores import create_registry_table

REGION = "us-east-1"
ENDPOINT = "mlplat-dev-cpu-1"
FEATURES = [f"f{i}" for i in range(5)]
START = datetime(2026, 11, 30, 10, tzinfo=UTC)
END = START + timedelta(hours=2)
# Declared models, their teams and versions; "churn" drifts in f2, "fraud" does not.
MODELS = {"churn": ("growth", 3), "fraud": ("risk", 1), "ltv": ("growth", 2)}
ROWS_PER_MODEL = 600


@pytest.fixture
def processing(tmp_path):
    """The container's /opt/ml/processing, laid out in a temporary folder."""
    root = tmp_path / "opt/ml/processing"
    return {
        "capture": root / "input/capture",
        "baselines": root / "input/baselines",
        "output": root / "output/report",
    }


def _write_captures(paths, rng) -> dict:
    """One MME's capture: three models over two hours, three encodings, plus the bad lines a
    real capture holds. Returns how many of each kind were written."""
    expected = {"unattributed": 0, "malformed": {}, "outside": 0, "unmonitored": 0}
    lines_by_hour: dict[datetime, list[str]] = {START: [], START + timedelta(hours=1): []}
    encodings = ["CSV", "JSON", "BASE64"]
    for model, (_team, version) in MODELS.items():
        shift = np.zeros(len(FEATURES))
        if model == "churn":
            shift[2] = 1.0  # one standard deviation in f2
        for i in range(ROWS_PER_MODEL):
            when = START + timedelta(seconds=11 * i)
            row = rng.normal(size=len(FEATURES)) + shift
            hour = when.replace(minute=0, second=0)
            lines_by_hour[hour].append(
                capture_line(
                    row,
                    when=when,
                    inference=inference_id(model, version),
                    encoding=encodings[i % 3],
                )
            )
    first = lines_by_hour[START]
    # Unattributed: no InferenceId, SageMaker's generated uuid, and a broken contract.
    first.append(capture_line([0.0] * 5, when=START, inference=None))
    first.append(capture_line([0.0] * 5, when=START, inference="3f2b9c1e-5d4a-4a8e-9b1c-7e6d5c4b"))
    first.append(capture_line([0.0] * 5, when=START, inference="churn@3:abcdefgh"))
    expected["unattributed"] = 3
    # Malformed: not JSON, no captureData, a payload that is not numbers, wrong width.
    first.append("{not json")
    first.append(json.dumps({"eventMetadata": {"inferenceTime": "2026-11-30T10:00:00Z"}}))
    bad = json.loads(capture_line([0.0] * 5, when=START, inference=inference_id("fraud", 1)))
    bad["captureData"]["endpointInput"]["data"] = "a,b,c,d,e\n"
    first.append(json.dumps(bad))
    first.append(capture_line([0.0] * 4, when=START, inference=inference_id("fraud", 1)))
    expected["malformed"] = {"json": 1, "shape": 1, "payload": 1, "width": 1}
    # Inside a selected file but before the window; attributed to an undeclared model.
    first.append(
        capture_line(
            [0.0] * 5, when=START - timedelta(minutes=1), inference=inference_id("fraud", 1)
        )
    )
    # Stamped exactly at the window's end: the next window's (the end is exclusive).
    lines_by_hour[START + timedelta(hours=1)].append(
        capture_line([0.0] * 5, when=END, inference=inference_id("fraud", 1))
    )
    expected["outside"] = 2
    first.append(capture_line([0.0] * 5, when=START, inference=inference_id("ghost", 1)))
    expected["unmonitored"] = 1
    # Attributed: every model row, the too-narrow row (refused only after attribution), ghost's.
    expected["attributed"] = len(MODELS) * ROWS_PER_MODEL + 1 + 1
    for hour, lines in lines_by_hour.items():
        path = capture_path(paths["capture"], ENDPOINT, "AllTraffic", hour, "part-0")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    # An hour outside the window: never read, even though its records would drift wildly.
    late = capture_path(paths["capture"], ENDPOINT, "AllTraffic", END, "part-0")
    late.parent.mkdir(parents=True, exist_ok=True)
    late.write_text(capture_line([99.0] * 5, when=END, inference=inference_id("fraud", 1)) + "\n")
    return expected


@pytest.fixture
def aws():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="reports")
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_registry_table(dynamodb, "registry")
        # "ltv" has no registry item: the job must not invent one.
        for model in ("churn", "fraud"):
            team, version = MODELS[model]
            dynamodb.put_item(
                TableName="registry",
                Item={
                    REGISTRY_KEYS.hash_key: {"S": model_key(team, model)},
                    REGISTRY_KEYS.range_key: {"N": str(version)},
                    "model": {"S": model},
                },
            )
        yield {
            "s3": s3,
            "dynamodb": dynamodb,
            "cloudwatch": boto3.client("cloudwatch", region_name=REGION),
        }


def _config(paths, **overrides) -> dict:
    return {
        "environment": "dev",
        "window": {"start": START.isoformat(), "end": END.isoformat()},
        "models": {name: {"team": team} for name, (team, _v) in MODELS.items()},
        "capture_dir": str(paths["capture"]),
        "baseline_dir": str(paths["baselines"]),
        "output_dir": str(paths["output"]),
        "registry_table": "registry",
        "report_bucket": "reports",
        "region": REGION,
        "seed": 7,
        **overrides,
    }


def _write_baselines(paths, rng, models=MODELS):
    for model, (_team, version) in models.items():
        write_baseline(
            baseline_path(paths["baselines"], model, version),
            FEATURES,
            rng.normal(size=(2000, len(FEATURES))),
        )


def test_job_finds_drift_per_model_and_counts_what_it_cannot_attribute(
    processing, aws, monkeypatch
):
    rng = np.random.default_rng(1)
    expected = _write_captures(processing, rng)
    _write_baselines(processing, rng)
    # A 0.1% model-level false-alarm rate: the undrifted models stay quiet (a 1-std shift in
    # churn's f2 is still far beyond it).
    monkeypatch.setenv(CONFIG_ENV, json.dumps(_config(processing, threshold=0.001)))

    assert main([]) == 0

    report = json.loads((processing["output"] / REPORT_FILE).read_text())
    results = {m["model"]: m for m in report["models"]}
    assert results["churn"]["status"] == "drift"
    assert results["churn"]["driftedFeatures"] == ["f2"]
    assert results["fraud"]["status"] == "no_drift"
    assert results["ltv"]["status"] == "no_drift"
    # Every attributed row of every encoding reached its model; none leaked to another.
    assert {m: r["rows"] for m, r in results.items()} == {m: ROWS_PER_MODEL for m in MODELS}
    counts = report["endpoints"][ENDPOINT]
    assert counts["unattributed"] == expected["unattributed"]
    assert counts["attributed"] == expected["attributed"]
    assert counts["malformedReasons"] == expected["malformed"]
    assert counts["outsideWindow"] == expected["outside"]
    assert report["unmonitoredModels"] == {"ghost": expected["unmonitored"]}
    assert report["files"] == 2

    # S3: one report per model version, under the team's prefix.
    churn_key = "drift/growth/churn/v3/2026-11-30T12-00-00Z.json"
    body = json.loads(aws["s3"].get_object(Bucket="reports", Key=churn_key)["Body"].read())
    assert body["result"]["status"] == "drift" and results["churn"]["reportUri"].endswith(churn_key)

    # DynamoDB: lastDrift on the existing registry items; no item created for "ltv".
    def last_drift(team, model, version):
        item = (
            aws["dynamodb"]
            .get_item(
                TableName="registry",
                Key={"modelKey": {"S": f"{team}/{model}"}, "version": {"N": str(version)}},
            )
            .get("Item")
        )
        return item and item["lastDrift"]["M"]["status"]["S"]

    assert last_drift("growth", "churn", 3) == "drift"
    assert last_drift("risk", "fraud", 1) == "no_drift"
    assert (
        aws["dynamodb"]
        .get_item(
            TableName="registry", Key={"modelKey": {"S": "growth/ltv"}, "version": {"N": "2"}}
        )
        .get("Item")
        is None
    )
    assert results["ltv"]["registryUpdated"] is False

    # CloudWatch: the alarm metric per model version, and a score per feature.
    def value(metric, **dims):
        points = aws["cloudwatch"].get_metric_statistics(
            Namespace="mlplat/Drift",
            MetricName=metric,
            Dimensions=[{"Name": k, "Value": v} for k, v in {"environment": "dev", **dims}.items()],
            StartTime=END - timedelta(hours=1),
            EndTime=END + timedelta(hours=1),
            Period=3600,
            Statistics=["Maximum"],
        )["Datapoints"]
        return points[0]["Maximum"] if points else None

    assert value("DriftDetected", model="churn", version="3") == 1.0
    assert value("DriftDetected", model="fraud", version="1") == 0.0
    f2 = value("DriftScore", model="churn", version="3", feature="f2")
    f0 = value("DriftScore", model="churn", version="3", feature="f0")
    assert f2 > 0.2 > f0
    assert value("UnattributedRecords", endpoint=ENDPOINT) == expected["unattributed"]


def test_psi_method_and_drift_share_decide_at_the_declared_threshold(processing, aws):
    rng = np.random.default_rng(2)
    _write_captures(processing, rng)
    _write_baselines(processing, rng)
    # One drifted feature of five is 0.2 of the features: below a declared share of 0.3 (which
    # needs two of five, not 1.5 rounded down), and enough for a share of 0.2.
    for share, status in ((0.3, "no_drift"), (0.2, "drift")):
        config = _config(processing, method="psi", threshold=0.2, drift_share=share)
        assert main(["--config", json.dumps(config)]) == 0
        report = json.loads((processing["output"] / REPORT_FILE).read_text())
        churn = next(m for m in report["models"] if m["model"] == "churn")
        assert churn["driftedFeatures"] == ["f2"] and churn["status"] == status, share


def test_a_version_without_baseline_or_enough_rows_is_reported_not_judged(processing, aws):
    rng = np.random.default_rng(3)
    _write_captures(processing, rng)
    _write_baselines(processing, rng, {"churn": MODELS["churn"], "fraud": MODELS["fraud"]})
    config = _config(processing, min_rows=ROWS_PER_MODEL + 1)
    assert main(["--config", json.dumps(config)]) == 0
    results = {
        m["model"]: m
        for m in json.loads((processing["output"] / REPORT_FILE).read_text())["models"]
    }
    assert results["ltv"]["status"] == "no_baseline"
    assert results["ltv"]["rows"] == ROWS_PER_MODEL
    assert results["churn"]["status"] == "insufficient_data"
    # Exactly min_rows rows are enough to judge.
    config = _config(processing, min_rows=ROWS_PER_MODEL)
    assert main(["--config", json.dumps(config)]) == 0
    report = json.loads((processing["output"] / REPORT_FILE).read_text())
    churn = next(m for m in report["models"] if m["model"] == "churn")
    assert churn["status"] == "drift"


def _run_container(config: dict, config_file: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m lifecycle.drift`` as Processing runs it: the config in the environment, or
    (as a real job naming many models must) in a file of an input channel."""
    env = {"PATH": "/usr/bin:/bin"}
    arguments = []
    if config_file is None:
        env[CONFIG_ENV] = json.dumps(config)
    else:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(json.dumps(config))
        arguments = ["--config-file", str(config_file)]
    return subprocess.run(
        [sys.executable, "-m", "lifecycle.drift", *arguments],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )


def test_bad_config_exits_2_naming_each_field(processing):
    config = _config(processing, method="chi2")
    config["models"]["Bad_Name"] = {"team": "growth"}
    del config["window"]["end"]
    result = _run_container(config)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for path in ("config.method", "config.window.end", "config.models.Bad_Name"):
        assert path in result.stderr


def test_bad_baseline_exits_2_naming_model_file_and_field(processing):
    rng = np.random.default_rng(4)
    _write_captures(processing, rng)
    _write_baselines(processing, rng)
    path = baseline_path(processing["baselines"], "fraud", 1)
    path.write_text(path.read_text().replace("\n", "\n1,2,oops,4,5\n", 3))
    config = _config(processing, registry_table=None, report_bucket=None)
    result = _run_container(config, processing["capture"].parent / "config/drift.json")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "model fraud" in result.stderr and str(path) in result.stderr
    assert "field 'f2'" in result.stderr


def test_without_arguments_the_config_comes_from_the_input_channel(processing, tmp_path):
    from lifecycle.drift.config import ConfigError, load_config

    channel = tmp_path / "input/config/drift.json"
    with pytest.raises(ConfigError, match=str(channel)):
        load_config([], environ={}, default_file=channel)
    channel.parent.mkdir(parents=True)
    channel.write_text(json.dumps(_config(processing, method="psi")))
    assert load_config([], environ={}, default_file=channel).method == "psi"


def test_a_missing_capture_channel_is_a_config_error(processing, capsys):
    assert main(["--config", json.dumps(_config(processing))]) == 2
    assert f"config.capture_dir: {processing['capture']}" in capsys.readouterr().err


def test_a_model_captured_above_its_rate_is_read_at_its_own_share(processing, aws):
    """On an endpoint capturing at 100%, a model that asked for 25% is read at a quarter of its
    requests (chosen by InferenceId token); the others in full."""
    rng = np.random.default_rng(4)
    _write_captures(processing, rng)
    _write_baselines(processing, rng)
    models = {name: {"team": team} for name, (team, _v) in MODELS.items()}
    models["fraud"]["captured_share"] = 0.25
    assert main(["--config", json.dumps(_config(processing, models=models))]) == 0
    report = json.loads((processing["output"] / REPORT_FILE).read_text())
    rows = {m["model"]: m["rows"] for m in report["models"]}
    assert rows["churn"] == rows["ltv"] == ROWS_PER_MODEL
    assert 0.18 * ROWS_PER_MODEL < rows["fraud"] < 0.32 * ROWS_PER_MODEL
    # Records sampled out are counted (a few of fraud's are malformed lines, which sampling
    # drops before they are parsed: hence not exactly the rows missing).
    sampled_out = report["endpoints"][ENDPOINT]["sampledOut"]
    assert 0 <= sampled_out - (ROWS_PER_MODEL - rows["fraud"]) <= 10


def test_a_scheduled_run_takes_its_window_from_the_pipeline_start(processing, aws, monkeypatch):
    """The drift pipeline passes Execution.StartDateTime; the config names only window_hours."""
    from lifecycle.drift.config import WINDOW_END_ENV

    rng = np.random.default_rng(1)
    _write_captures(processing, rng)
    _write_baselines(processing, rng)
    config = _config(processing, threshold=0.001, window_hours=2)
    del config["window"]
    monkeypatch.setenv(CONFIG_ENV, json.dumps(config))
    monkeypatch.setenv(WINDOW_END_ENV, "2026-11-30T12:00:00.000Z")
    assert main([]) == 0
    report = json.loads((processing["output"] / REPORT_FILE).read_text())
    assert report["window"] == {"start": START.isoformat(), "end": END.isoformat()}
    assert {m["model"]: m["rows"] for m in report["models"]} == {m: ROWS_PER_MODEL for m in MODELS}


def test_watched_features_and_a_declared_s3_baseline(processing, aws, monkeypatch):
    """Only the declared features are judged (churn drifts in f2: watching f0, f1 hides it);
    a model whose baseline is declared in S3 is compared with that file."""
    rng = np.random.default_rng(1)
    _write_captures(processing, rng)
    _write_baselines(processing, rng, {m: MODELS[m] for m in ("churn", "ltv")})
    local = processing["baselines"].parent / "fraud.csv"
    write_baseline(local, FEATURES, rng.normal(size=(2000, len(FEATURES))))
    aws["s3"].put_object(Bucket="reports", Key="datasets/fraud.csv", Body=local.read_bytes())
    models = {
        "churn": {"team": "growth", "features": ["f0", "f1"]},
        "ltv": {"team": "growth", "features": ["nope"]},
        "fraud": {"team": "risk", "baseline_uri": "s3://reports/datasets/fraud.csv"},
    }
    config = _config(processing, threshold=0.001, models=models)
    monkeypatch.setenv(CONFIG_ENV, json.dumps(config))
    assert main([], clients=_Clients(aws)) == 0
    results = {
        m["model"]: m
        for m in json.loads((processing["output"] / REPORT_FILE).read_text())["models"]
    }
    assert results["churn"]["status"] == "no_drift"
    assert [f["name"] for f in results["churn"]["features"]] == ["f0", "f1"]
    assert results["ltv"]["status"] == "no_watched_features"
    assert results["fraud"]["status"] == "no_drift" and results["fraud"]["rows"] == ROWS_PER_MODEL


class _Clients:
    def __init__(self, clients: dict) -> None:
        self.__dict__.update(clients)
