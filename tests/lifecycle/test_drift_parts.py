"""The drift job's parts: the capture reader, the bounded window summary, the PSI."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from lifecycle.drift.capture import MalformedRecord, capture_files, decode_payload, parse_record
from lifecycle.drift.job import _row
from lifecycle.drift.stats import Reservoir, psi
from lifecycle.drift.synthetic import capture_line, capture_path


def test_reservoir_stays_bounded_and_samples_the_whole_stream():
    reservoir = Reservoir(2000, 1, np.random.default_rng(0))
    stream = np.arange(100_000, dtype=float).reshape(-1, 1)
    for start in range(0, len(stream), 2048):
        reservoir.add(stream[start : start + 2048])
    sample = reservoir.sample()[:, 0]
    assert reservoir.rows.shape == (2000, 1) and len(sample) == 2000
    assert len(np.unique(sample)) == 2000
    # Uniform over the stream: mean near 50,000 (std of the mean about 650), every decile seen.
    assert abs(sample.mean() - 49_999.5) < 3_000
    assert np.histogram(sample, bins=10, range=(0, 100_000))[0].min() > 120


def test_psi_is_zero_for_the_same_distribution_and_grows_with_the_shift():
    same = psi(np.array([10, 20, 30, 40]), np.array([1, 2, 3, 4]))
    shifted = psi(np.array([10, 20, 30, 40]), np.array([40, 30, 20, 10]))
    # sum((a - e) * ln(a / e)) over [.4, .3, .2, .1] against [.1, .2, .3, .4], by hand.
    assert same == pytest.approx(0, abs=1e-12) and shifted == pytest.approx(0.9128, abs=1e-3)


def test_capture_files_are_chosen_by_the_hours_the_window_overlaps(tmp_path):
    for hour in (9, 10, 11, 12):
        path = capture_path(tmp_path, "ep", "AllTraffic", datetime(2026, 1, 1, hour), "a")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    (tmp_path / "ep" / "stray.jsonl").write_text("")
    files, stray = capture_files(
        tmp_path, datetime(2026, 1, 1, 10, 30, tzinfo=UTC), datetime(2026, 1, 1, 12, tzinfo=UTC)
    )
    assert [f.hour.hour for f in files] == [10, 11]
    assert {(f.endpoint, f.variant) for f in files} == {("ep", "AllTraffic")}
    assert stray == 1


def test_every_documented_encoding_decodes_to_the_same_row():
    row = [1.5, -2.0, 3.25]
    when = datetime(2026, 1, 1, tzinfo=UTC)
    decoded = [
        parse_record(capture_line(row, when=when, inference="m@v1:abcdefgh", encoding=encoding))
        for encoding in ("CSV", "JSON", "BASE64")
    ]
    assert all(record.rows == [row] for record in decoded)
    assert decoded[0].inference_id == "m@v1:abcdefgh" and decoded[0].inference_time == when


def test_base64_json_bodies_and_named_features():
    body = base64.b64encode(json.dumps({"b": 2, "a": 1}).encode()).decode()
    rows = decode_payload(body, "BASE64", "application/json")
    assert _row(rows[0], ("a", "b")) == [1, 2]
    with pytest.raises(MalformedRecord) as error:
        _row(rows[0], ("a", "c"))
    assert error.value.reason == "features"


@pytest.mark.parametrize(
    ("data", "encoding", "reason"),
    [
        ("1,2", "PARQUET", "encoding"),
        ("not base64!", "BASE64", "encoding"),
        ('{"x": "y"', "JSON", "payload"),
        ('"text"', "JSON", "payload"),
        ("", "CSV", "payload"),
    ],
)
def test_undecodable_payloads_are_malformed_with_a_reason(data, encoding, reason):
    with pytest.raises(MalformedRecord) as error:
        decode_payload(data, encoding, "text/csv")
    assert error.value.reason == reason


def test_ks_threshold_is_shared_by_the_features(monkeypatch):
    """``threshold`` bounds a model's false alarms: each of n features is tested at threshold/n."""
    from types import SimpleNamespace

    from lifecycle.drift import stats

    p_values = iter([0.011, 0.009, 0.5, 0.5, 0.5])
    monkeypatch.setattr(
        stats.stats,
        "ks_2samp",
        lambda *a, **k: SimpleNamespace(statistic=0.1, pvalue=next(p_values)),
    )
    rng = np.random.default_rng(0)
    baseline = stats.Baseline(tuple("abcde"), rng.normal(size=(200, 5)))
    summary = stats.WindowSummary(baseline, 200, rng)
    for row in rng.normal(size=(200, 5)).tolist():
        summary.add(row)
    results = stats.compare(summary, "ks", 0.05)
    assert [r.drifted for r in results] == [False, True, False, False, False]


def test_an_unchanged_discrete_feature_has_no_psi():
    """Values equal to a bin edge (integer features have many) fall in the same bin in the
    baseline and in the window, so an unchanged distribution scores 0."""
    from lifecycle.drift import stats

    rng = np.random.default_rng(0)
    values = rng.integers(0, 5, size=(1000, 1)).astype(float)
    summary = stats.WindowSummary(stats.Baseline(("count",), values), 1000, rng)
    for row in values.tolist():
        summary.add(row)
    (result,) = stats.compare(summary, "psi", 0.1)
    assert result.psi == pytest.approx(0, abs=1e-9) and not result.drifted


def test_ks_compares_the_baseline_with_the_whole_reservoir(monkeypatch):
    from types import SimpleNamespace

    from lifecycle.drift import stats

    seen = []

    def ks_2samp(baseline, window, **kwargs):
        seen.append((len(baseline), len(window)))
        return SimpleNamespace(statistic=0.0, pvalue=1.0)

    monkeypatch.setattr(stats.stats, "ks_2samp", ks_2samp)
    rng = np.random.default_rng(0)
    baseline = stats.Baseline(("a", "b"), rng.normal(size=(300, 2)))
    summary = stats.WindowSummary(baseline, 250, rng)
    for row in rng.normal(size=(1000, 2)).tolist():
        summary.add(row)
    stats.compare(summary, "ks", 0.05)
    assert seen == [(300, 250), (300, 250)]


# --- what the job publishes (publish.py), against recording stand-ins for the AWS clients --------

END_TEXT = "2026-11-30T12:00:00+00:00"


def _report() -> dict:
    """A run's report: a version not judged (first, and skipped), a drifted one with two
    features, an undrifted one, and two endpoints' counters."""
    judged = {
        "rows": 800,
        "features": [{"name": "f0", "score": 0.05}, {"name": "f1", "score": 0.4}],
    }
    return {
        "environment": "dev",
        "window": {"start": "2026-11-30T10:00:00+00:00", "end": END_TEXT},
        "models": [
            {
                "model": "ltv",
                "version": 2,
                "status": "insufficient_data",
                "rows": 5,
                "driftedShare": 0.0,
                "features": [],
            },
            {"model": "churn", "version": 3, "status": "drift", "driftedShare": 0.5, **judged},
            {"model": "fraud", "version": 1, "status": "no_drift", "driftedShare": 0.0, **judged},
        ],
        "endpoints": {
            "ep-b": {"unattributed": 4, "malformed": 2},
            "ep-a": {"unattributed": 0, "malformed": 7},
        },
    }


def test_metric_data_is_each_judged_versions_alarm_metrics_and_each_endpoints_counters():
    from lifecycle.drift.publish import metric_data

    when = datetime(2026, 11, 30, 12, tzinfo=UTC)

    def datum(name, value, unit, **dims):
        dimensions = [{"Name": k, "Value": v} for k, v in {"environment": "dev", **dims}.items()]
        return {
            "MetricName": name,
            "Dimensions": dimensions,
            "Timestamp": when,
            "Value": value,
            "Unit": unit,
        }

    def version(model, number, detected, share):
        ids = {"model": model, "version": number}
        return [
            datum("DriftDetected", detected, "None", **ids),
            datum("DriftedFeatureShare", share, "None", **ids),
            datum("RowsEvaluated", 800.0, "Count", **ids),
        ]

    def scores(model, number):
        return [
            datum("DriftScore", s, "None", model=model, version=number, feature=f)
            for f, s in (("f0", 0.05), ("f1", 0.4))
        ]

    counters = [
        datum("UnattributedRecords", 0.0, "Count", endpoint="ep-a"),
        datum("MalformedRecords", 7.0, "Count", endpoint="ep-a"),
        datum("UnattributedRecords", 4.0, "Count", endpoint="ep-b"),
        datum("MalformedRecords", 2.0, "Count", endpoint="ep-b"),
    ]
    churn, fraud = version("churn", "3", 1.0, 0.5), version("fraud", "1", 0.0, 0.0)
    everything = [*churn, *scores("churn", "3"), *fraud, *scores("fraud", "1"), *counters]
    assert metric_data(_report()) == everything  # per feature by default
    assert metric_data(_report(), feature_metrics=True) == everything
    assert metric_data(_report(), feature_metrics=False) == [*churn, *fraud, *counters]


class _Recorder:
    """Records each call of any method as (name, keyword arguments)."""

    def __init__(self) -> None:
        self.calls = []

    def __getattr__(self, name):
        return lambda **kwargs: self.calls.append((name, kwargs))


@pytest.mark.parametrize(("count", "sizes"), [(0, []), (1000, [1000]), (2001, [1000, 1000, 1])])
def test_metrics_are_sent_in_requests_of_at_most_a_thousand(count, sizes):
    from lifecycle.drift.publish import put_metrics

    cloudwatch = _Recorder()
    data = [{"MetricName": "m", "Value": float(i)} for i in range(count)]
    assert put_metrics(cloudwatch, "mlplat/Drift", data) == len(sizes)
    assert [len(kwargs["MetricData"]) for _, kwargs in cloudwatch.calls] == sizes
    assert [d for _, kwargs in cloudwatch.calls for d in kwargs["MetricData"]] == data
    assert all(kwargs["Namespace"] == "mlplat/Drift" for _, kwargs in cloudwatch.calls)


def test_a_report_is_indented_json_typed_as_json():
    from lifecycle.drift.publish import put_report

    s3 = _Recorder()
    body = {"result": {"status": "drift", "rows": 800}}
    assert put_report(s3, "reports", "drift/growth/churn/v3/x.json", body) == (
        "s3://reports/drift/growth/churn/v3/x.json"
    )
    assert s3.calls == [
        (
            "put_object",
            {
                "Bucket": "reports",
                "Key": "drift/growth/churn/v3/x.json",
                "Body": json.dumps(body, indent=2).encode(),
                "ContentType": "application/json",
            },
        )
    ]


def test_the_report_key_is_stamped_in_utc_whatever_the_machines_zone(monkeypatch):
    import time

    from lifecycle.drift.publish import report_key

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        key = report_key("drift/", "growth", "churn", 3, "2026-11-30T13:30:00+01:00")
    finally:
        monkeypatch.undo()  # the zone as it was, then applied again
        time.tzset()
    assert key == "drift/growth/churn/v3/2026-11-30T12-30-00Z.json"


class _Registry:
    """DynamoDB's UpdateItem with its condition: the item exists only for ``existing``."""

    class exceptions:  # noqa: N801 - botocore's attribute name
        class ConditionalCheckFailedException(Exception):
            pass

    def __init__(self, existing: bool) -> None:
        self.existing = existing
        self.updates = []

    def update_item(self, **kwargs):
        if not self.existing:
            raise self.exceptions.ConditionalCheckFailedException()
        self.updates.append(kwargs)


def test_last_drift_is_set_on_an_existing_item_with_its_numbers_as_dynamodb_numbers():
    from lifecycle.drift.publish import record_last_drift

    registry = _Registry(existing=True)
    status = {"status": "drift", "rows": 800, "driftedShare": 0.25}
    assert record_last_drift(registry, "registry", "growth", "churn", 3, status) is True
    (update,) = registry.updates
    assert update["ExpressionAttributeValues"] == {
        ":status": {
            "M": {"status": {"S": "drift"}, "rows": {"N": "800"}, "driftedShare": {"N": "0.25"}}
        }
    }
    assert record_last_drift(_Registry(existing=False), "registry", "g", "m", 1, status) is False


# --- baselines, the window from the pipeline, the clients (baseline.py, config.py, job.py) -------


def _baseline_file(tmp_path, text: str):
    path = tmp_path / "churn" / "v3.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _baseline_refusal(tmp_path, text: str) -> str:
    """The refusal of churn's baseline holding ``text``, with its path written as PATH."""
    from lifecycle.drift.baseline import BaselineError, load_baseline

    path = _baseline_file(tmp_path, text)
    with pytest.raises(BaselineError) as error:
        load_baseline(path, "churn", 100, np.random.default_rng(0))
    return str(error.value).replace(str(path), "PATH")


@pytest.mark.parametrize("text", ["", "a,,b\n1,2,3\n", "a, ,b\n1,2,3\n"])
def test_a_baseline_without_a_header_of_names_is_refused_at_line_1(tmp_path, text):
    assert _baseline_refusal(tmp_path, text) == (
        "model churn: PATH: line 1: a header of feature names"
    )


def test_a_baseline_row_of_another_width_or_with_text_is_refused_naming_line_and_field(tmp_path):
    assert _baseline_refusal(tmp_path, "a,b,c\n1,2,3\n4,5\n") == (
        "model churn: PATH: line 3: 2 fields, header has 3"
    )
    assert _baseline_refusal(tmp_path, "a,b,c\n1,2,3\n4,x,y\n") == (
        "model churn: PATH: line 3: field 'b' is not a number"
    )


def test_a_large_baseline_keeps_a_sample_of_the_rows_asked_for_from_the_whole_file(tmp_path):
    from lifecycle.drift.baseline import load_baseline

    rows = "\n".join(f"{i},{-i}" for i in range(10_000))
    path = _baseline_file(tmp_path, f" a , b\n{rows}\n")
    baseline = load_baseline(path, "churn", 500, np.random.default_rng(0))
    assert baseline.features == ("a", "b")
    assert baseline.sample.shape == (500, 2)
    assert (baseline.sample[:, 1] == -baseline.sample[:, 0]).all()  # whole rows, as written
    assert baseline.sample[:, 0].max() > 8_192  # rows after the first two chunks are sampled


def test_a_pipeline_window_end_that_is_not_a_time_is_a_config_error_naming_it(tmp_path):
    from lifecycle.drift.config import WINDOW_END_ENV, ConfigError, load_config

    config = {"environment": "dev", "models": {"churn": {"team": "growth"}}, "window_hours": 2}
    with pytest.raises(ConfigError) as error:
        load_config(["--config", json.dumps(config)], environ={WINDOW_END_ENV: "yesterday"})
    assert str(error.value) == (
        f"{WINDOW_END_ENV}='yesterday' (or window_hours=2) is not a time and a number"
    )


def test_declared_baselines_are_fetched_into_the_channel_whether_or_not_it_exists(tmp_path):
    """Processing may give no baseline channel at all (every baseline declared in S3), or one
    that already holds the model's own versions."""
    from lifecycle.drift.config import JobConfig
    from lifecycle.drift.job import fetch_declared_baselines

    class S3:
        def __init__(self):
            self.fetched = []

        def download_file(self, bucket, key, target):
            self.fetched.append((bucket, key, target))
            Path(target).write_text("a\n1\n2\n")

    baselines = tmp_path / "baselines"
    (baselines / "fraud").mkdir(parents=True)  # fraud's own versions are there
    config = JobConfig.model_validate(
        {
            "environment": "dev",
            "window": {"start": "2026-11-30T10:00:00Z", "end": "2026-11-30T12:00:00Z"},
            "models": {
                "churn": {"team": "growth", "baseline_uri": "s3://data/sets/churn.csv"},
                "fraud": {"team": "risk", "baseline_uri": "s3://data/sets/fraud/base.csv"},
                "ltv": {"team": "growth"},
            },
            "baseline_dir": str(baselines / "nested"),
        }
    )
    s3 = S3()
    fetch_declared_baselines(config, s3)
    root = baselines / "nested"
    assert s3.fetched == [
        ("data", "sets/churn.csv", str(root / "churn" / "declared.csv")),
        ("data", "sets/fraud/base.csv", str(root / "fraud" / "declared.csv")),
    ]
    (root / "fraud" / "declared.csv").unlink()
    fetch_declared_baselines(config, S3())  # the model folders exist now
    assert (root / "fraud" / "declared.csv").is_file()


def test_the_clients_make_each_service_once_and_nothing_for_private_names():
    from lifecycle.drift.job import Clients

    clients = Clients("us-east-1")
    assert clients.s3 is clients.s3
    assert clients.s3.meta.region_name == "us-east-1"
    with pytest.raises(AttributeError) as error:
        clients._anything  # noqa: B018 - the lookup is the test
    assert str(error.value) == "_anything"
    assert not hasattr(clients, "__deepcopy_helper__")


# --- the window the job keeps (job.DriftWindow) ---------------------------------------------------


def _window(tmp_path, **settings):
    from lifecycle.drift.config import JobConfig
    from lifecycle.drift.job import DriftWindow

    config = {
        "environment": "dev",
        "window": {"start": "2026-11-30T10:00:00Z", "end": "2026-11-30T12:00:00Z"},
        "models": {"churn": {"team": "growth"}},
        "baseline_dir": str(tmp_path / "baselines"),
        "reservoir_size": 100,
        "baseline_rows": 100,
        **settings,
    }
    return DriftWindow(JobConfig.model_validate(config))


def _baseline(tmp_path, name: str, rows, features=("a", "b")):
    from lifecycle.drift.synthetic import write_baseline

    write_baseline(tmp_path / "baselines" / "churn" / name, list(features), rows)


def test_every_line_is_counted_once_and_each_malformed_one_by_reason(tmp_path):
    from lifecycle.attribution import inference_id

    window = _window(tmp_path)
    _baseline(tmp_path, "v1.csv", [[0.0, 1.0]] * 10)
    when = datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    good = capture_line([1.0, 2.0], when=when, inference=inference_id("churn", 1))
    narrow = capture_line([1.0], when=when, inference=inference_id("churn", 1))
    for line in (good, "{not json", "[1, 2", narrow, narrow, good):
        window.add_line("ep", line)
    counts = window.tally.endpoints["ep"]
    assert counts.records == 6
    assert counts.malformed == 4
    assert dict(counts.malformed_reasons) == {"json": 2, "width": 2}
    assert window.summaries[("churn", 1)].rows == 2


def _feed(window, rows: int, seed: int) -> None:
    from lifecycle.attribution import inference_id

    when = datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    values = np.random.default_rng(seed).normal(size=(rows, 2))
    for row in values.tolist():
        window.add_line("ep", capture_line(row, when=when, inference=inference_id("churn", 1)))


def test_the_seed_makes_a_run_repeatable_past_both_sample_sizes(tmp_path):
    """More window rows than the reservoir and more baseline rows than baseline_rows: both are
    sampled, and the same seed draws the same samples."""
    _baseline(tmp_path, "v1.csv", np.random.default_rng(1).normal(size=(400, 2)))
    samples = []
    for _ in range(2):
        window = _window(tmp_path, seed=7)
        _feed(window, 300, seed=2)
        summary = window.summaries[("churn", 1)]
        summary.flush()
        samples.append((summary.baseline.sample.copy(), summary.reservoir.sample().copy()))
    (baseline_1, window_1), (baseline_2, window_2) = samples
    assert baseline_1.shape == (100, 2) and window_1.shape == (100, 2)
    assert (baseline_1 == baseline_2).all() and (window_1 == window_2).all()


def test_the_channels_own_baseline_wins_over_the_declared_one(tmp_path):
    _baseline(tmp_path, "v1.csv", [[0.0, 1.0]] * 5, features=("own_a", "own_b"))
    _baseline(tmp_path, "declared.csv", [[0.0, 1.0]] * 5, features=("x", "y"))
    models = {"churn": {"team": "growth", "baseline_uri": "s3://data/churn.csv"}}
    window = _window(tmp_path, models=models)
    assert window.summary_for("churn", 1).baseline.features == ("own_a", "own_b")
    assert window.summary_for("churn", 2).baseline.features == ("x", "y")  # no v2 of its own


def test_a_bad_baseline_met_while_streaming_names_its_model(tmp_path):
    from lifecycle.drift.baseline import BaselineError

    (tmp_path / "baselines" / "churn").mkdir(parents=True)
    (tmp_path / "baselines" / "churn" / "v1.csv").write_text("a,b\n1,x\n")
    window = _window(tmp_path)
    with pytest.raises(BaselineError, match=r"^model churn: .*v1\.csv: line 2: field 'b'"):
        window.summary_for("churn", 1)


def test_versions_not_judged_are_reported_with_empty_results(tmp_path):
    from lifecycle.attribution import inference_id
    from lifecycle.drift.job import model_results

    _baseline(tmp_path, "v1.csv", np.random.default_rng(1).normal(size=(200, 2)))
    window = _window(tmp_path, min_rows=5)
    when = datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    for version in (1, 2, 2, 2):  # v1 has a baseline but too few rows; v2 none
        window.add_line(
            "ep", capture_line([0.0, 1.0], when=when, inference=inference_id("churn", version))
        )
    for _ in range(2):
        window.add_line(
            "ep", capture_line([0.0, 1.0], when=when, inference=inference_id("ghost", 1))
        )
    assert window.tally.unmonitored == {"ghost": 2}
    empty = {"features": [], "driftedFeatures": [], "driftedShare": 0.0}
    assert model_results(window) == [
        {
            "model": "churn",
            "version": 1,
            "team": "growth",
            "rows": 1,
            "status": "insufficient_data",
            **empty,
        },
        {
            "model": "churn",
            "version": 2,
            "team": "growth",
            "rows": 3,
            "status": "no_baseline",
            **empty,
        },
    ]


def _judged_window(tmp_path, **settings):
    """churn v1 with a baseline and 300 rows (judged), a malformed line, an unattributed one."""
    _baseline(tmp_path, "v1.csv", np.random.default_rng(1).normal(size=(200, 2)))
    window = _window(tmp_path, **settings)
    _feed(window, 300, seed=2)
    window.add_line("ep", "{not json")
    window.add_line(
        "ep", capture_line([0.0, 1.0], when=datetime(2026, 11, 30, 11, tzinfo=UTC), inference=None)
    )
    window.tally.files, window.tally.stray_files = 2, 1
    return window


def test_the_report_states_the_settings_and_every_counter(tmp_path):
    from lifecycle.drift.job import REPORT_SCHEMA, build_report

    report = build_report(_judged_window(tmp_path, method="psi", drift_share=0.5))
    (churn,) = report.pop("models")
    assert report == {
        "schemaVersion": REPORT_SCHEMA,
        "environment": "dev",
        "window": {"start": "2026-11-30T10:00:00+00:00", "end": "2026-11-30T12:00:00+00:00"},
        "method": "psi",
        "threshold": 0.1,  # PSI's default
        "driftShare": 0.5,
        "files": 2,
        "strayFiles": 1,
        "endpoints": {
            "ep": {
                "records": 302,
                "attributed": 300,
                "unattributed": 1,
                "malformed": 1,
                "malformedReasons": {"json": 1},
                "outsideWindow": 0,
                "sampledOut": 0,
            }
        },
        "unmonitoredModels": {},
    }
    assert (churn["model"], churn["version"], churn["team"], churn["rows"]) == (
        "churn",
        1,
        "growth",
        300,
    )
    assert churn["sampledRows"] == 100  # the reservoir's size
    assert [f["name"] for f in churn["features"]] == ["a", "b"]
    for feature in churn["features"]:
        assert feature["score"] == feature["psi"]  # the method's statistic
        assert set(feature) == {"name", "score", "ksStatistic", "pValue", "psi", "drifted"}
    assert churn["driftedFeatures"] == [f["name"] for f in churn["features"] if f["drifted"]]
    assert churn["driftedShare"] == len(churn["driftedFeatures"]) / 2
    ks = build_report(_judged_window(tmp_path / "ks"))["models"][0]
    assert all(f["score"] == f["ksStatistic"] for f in ks["features"])


def test_publishing_writes_each_report_then_the_registry_then_the_metrics(tmp_path):
    from types import SimpleNamespace

    from lifecycle.drift.job import build_report, publish

    config_settings = {"report_bucket": "reports", "registry_table": "registry"}
    window = _judged_window(tmp_path, **config_settings)
    report = build_report(window)
    order = []
    s3, registry, cloudwatch = _Recorder(), _Registry(existing=True), _Recorder()
    s3.calls, cloudwatch.calls = order, order
    registry.updates = order
    publish(window.config, report, SimpleNamespace(s3=s3, dynamodb=registry, cloudwatch=cloudwatch))
    (churn,) = report["models"]
    key = "drift/growth/churn/v1/2026-11-30T12-00-00Z.json"
    assert churn["reportUri"] == f"s3://reports/{key}" and churn["registryUpdated"] is True
    put, update, metrics = order
    assert put[0] == "put_object" and put[1]["Key"] == key
    body = json.loads(put[1]["Body"])
    assert set(body) == {
        "schemaVersion",
        "environment",
        "window",
        "method",
        "threshold",
        "driftShare",
        "result",
    }
    assert body["result"]["rows"] == 300 and body["window"] == report["window"]
    status = update["ExpressionAttributeValues"][":status"]["M"]
    assert set(status) == {
        "status",
        "windowStart",
        "windowEnd",
        "rows",
        "driftedFeatures",
        "reportUri",
        "evaluatedAt",
    }
    assert status["reportUri"] == {"S": f"s3://reports/{key}"}
    assert status["windowEnd"] == {"S": "2026-11-30T12:00:00+00:00"} and status["rows"] == {
        "N": "300"
    }
    assert metrics[0] == "put_metric_data" and report["metricRequests"] == 1
    evaluated = datetime.fromisoformat(status["evaluatedAt"]["S"])
    assert evaluated.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - evaluated) < timedelta(minutes=5)
    assert "DriftScore" in {d["MetricName"] for d in metrics[1]["MetricData"]}
    # Without a bucket, the registry still learns the result, with no report to point at.
    window = _judged_window(
        tmp_path / "no-bucket", registry_table="registry", feature_metrics=False
    )
    report = build_report(window)
    registry, cloudwatch = _Registry(existing=True), _Recorder()
    publish(
        window.config, report, SimpleNamespace(s3=None, dynamodb=registry, cloudwatch=cloudwatch)
    )
    (update,) = registry.updates
    ((_, sent),) = cloudwatch.calls  # and no feature scores when they are turned off
    assert "DriftScore" not in {d["MetricName"] for d in sent["MetricData"]}
    assert update["ExpressionAttributeValues"][":status"]["M"]["reportUri"] == {"S": ""}
    assert "reportUri" not in report["models"][0]


# --- capture files and payloads (capture.py) ------------------------------------------------


def test_json_bodies_in_either_documented_wrapper_decode_to_their_rows():
    for key in ("instances", "inputs"):
        assert decode_payload(json.dumps({key: [[1, 2], [3, 4]]}), "JSON", "") == [[1, 2], [3, 4]]


@pytest.mark.parametrize("body", ["[]", '[1, "a"]', '{"instances": {}}', '{"inputs": []}', "7"])
def test_a_json_body_that_is_no_row_or_rows_is_malformed_saying_what_is_expected(body):
    with pytest.raises(MalformedRecord) as error:
        decode_payload(body, "JSON", "application/json")
    assert str(error.value) == "payload: JSON: not a row, a list of rows, or {'instances': rows}"


def test_a_body_that_is_not_json_is_malformed_with_the_parsers_reason():
    with pytest.raises(MalformedRecord) as error:
        decode_payload("[1, 2", "JSON", "application/json")
    assert str(error.value).startswith("payload: JSON: Expecting ',' delimiter")


def test_every_stray_file_is_counted_and_the_files_after_it_still_read(tmp_path):
    """Capture kept below a prefix folder on disk; files too shallow or with no date in their
    path are stray, however many there are and wherever they sort."""
    hour = datetime(2026, 1, 1, 10)
    good = capture_path(tmp_path / "capture", "ep", "AllTraffic", hour, "z")
    for path in (
        good,
        tmp_path / "capture" / "a.jsonl",
        tmp_path / "capture" / "ep" / "b.jsonl",
        tmp_path / "capture" / "ep" / "AllTraffic" / "2026" / "00" / "01" / "10" / "c.jsonl",
        tmp_path / "capture" / "ep" / "AllTraffic" / "2026" / "01" / "01" / "xx" / "d.jsonl",
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    files, stray = capture_files(
        tmp_path, datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 1, 1, 11, tzinfo=UTC)
    )
    assert stray == 4
    assert [(f.path, f.endpoint, f.variant) for f in files] == [(good, "ep", "AllTraffic")]


def test_a_line_with_bytes_that_are_not_utf8_is_read_not_fatal(tmp_path):
    from lifecycle.drift.capture import CaptureFile, read_lines

    path = tmp_path / "part.jsonl"
    path.write_bytes(b'{"a": "caf\xe9"}\n\n{"b": 1}\n')
    lines = list(read_lines(CaptureFile(path, "ep", "AllTraffic", datetime(2026, 1, 1))))
    assert lines == ['{"a": "caf\ufffd"}\n', '{"b": 1}\n']


def test_a_window_starting_on_the_hour_reads_no_file_of_the_hour_before(tmp_path):
    for hour in (9, 10):
        path = capture_path(tmp_path, "ep", "AllTraffic", datetime(2026, 1, 1, hour), "a")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    files, _ = capture_files(
        tmp_path, datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 1, 1, 11, tzinfo=UTC)
    )
    assert [f.hour.hour for f in files] == [10]


def test_the_entry_point_reads_its_arguments_writes_the_report_and_names_what_drifted(
    tmp_path, monkeypatch, capsys
):
    """``python -m lifecycle.drift --config JSON`` in process: the report in the output channel
    as indented JSON, and one line naming the drifted versions."""
    from types import SimpleNamespace

    from lifecycle.attribution import inference_id
    from lifecycle.drift.job import REPORT_FILE, main

    _baseline(tmp_path, "v1.csv", np.random.default_rng(1).normal(size=(300, 2)))
    when = datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    rows = np.random.default_rng(2).normal(size=(300, 2)) + [3.0, 0.0]  # a drifts far
    lines = [capture_line(r, when=when, inference=inference_id("churn", 1)) for r in rows.tolist()]
    capture = capture_path(tmp_path / "capture", "ep", "AllTraffic", when, "part-0")
    capture.parent.mkdir(parents=True)
    capture.write_text("\n".join(lines) + "\n")
    config = {
        "environment": "dev",
        "window": {"start": "2026-11-30T10:00:00Z", "end": "2026-11-30T12:00:00Z"},
        "models": {"churn": {"team": "growth"}},
        "capture_dir": str(tmp_path / "capture"),
        "baseline_dir": str(tmp_path / "baselines"),
        "output_dir": str(tmp_path / "output"),
        "seed": 3,
    }
    clients = SimpleNamespace(cloudwatch=_Recorder())
    monkeypatch.setattr("sys.argv", ["lifecycle.drift", "--config", json.dumps(config)])
    assert main(clients=clients) == 0
    assert capsys.readouterr().out == "drift job: 1 model versions, drift in ['churn@v1']\n"
    text = (tmp_path / "output" / REPORT_FILE).read_text()
    assert text == json.dumps(json.loads(text), indent=2) + "\n"
    config["window"] = {"start": "2026-11-30T12:00:00Z", "end": "2026-11-30T13:00:00Z"}
    assert main(["--config", json.dumps(config)], clients=clients) == 0  # nothing captured then
    assert capsys.readouterr().out == "drift job: 0 model versions, drift in none\n"


def test_the_config_comes_from_a_file_named_by_argument_or_a_usage_error(tmp_path):
    from lifecycle.drift.config import CONFIG_ENV, CONFIG_FILE, ConfigError, load_config

    config = {
        "environment": "dev",
        "window": {"start": "2026-11-30T10:00:00Z", "end": "2026-11-30T12:00:00Z"},
        "models": {"churn": {"team": "growth"}},
        "method": "psi",
    }
    path = tmp_path / "drift.json"
    path.write_text(json.dumps(config))
    assert load_config(["--config-file", str(path)], environ={}).method == "psi"
    with pytest.raises(ConfigError) as error:
        load_config(["--config-file", str(tmp_path / "none.json")], environ={})
    assert str(error.value) == f"--config-file {tmp_path / 'none.json'}: No such file or directory"
    usage = (
        f"usage: --config-file PATH | --config JSON | environment variable {CONFIG_ENV} "
        f"| a config file at {CONFIG_FILE}"
    )
    for argv in (["--config-file"], ["--config-file", str(path), "x"], ["--file", str(path)]):
        with pytest.raises(ConfigError) as error:
            load_config(argv, environ={})
        assert str(error.value) == usage


# --- each refusal in full (capture.py, config.py, job._row) -------------------------------------


def _record(**changes) -> str:
    record = json.loads(
        capture_line([1.0, 2.0], when=datetime(2026, 11, 30, 10, tzinfo=UTC), inference=None)
    )
    for path, value in changes.items():
        *parents, key = path.split(".")
        target = record
        for parent in parents:
            target = target[parent]
        if value is None:
            del target[key]
        else:
            target[key] = value
    return json.dumps(record)


def test_each_unreadable_capture_line_is_malformed_with_its_reason_and_detail():
    def refusal(line):
        with pytest.raises(MalformedRecord) as error:
            parse_record(line)
        return error.value.reason, str(error.value)

    assert refusal("{not json") == (
        "json",
        "json: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
    )
    assert refusal(_record(captureData=None)) == ("shape", "shape: missing field 'captureData'")
    assert refusal(_record(**{"eventMetadata.inferenceTime": "yesterday"})) == (
        "time",
        "time: inferenceTime 'yesterday'",
    )
    endpoint_input = "captureData.endpointInput"
    assert refusal(_record(**{f"{endpoint_input}.data": "\n"})) == (
        "payload",
        "payload: CSV: no rows",
    )
    assert refusal(_record(**{f"{endpoint_input}.data": "1,x"})) == (
        "payload",
        "payload: CSV: could not convert string to float: 'x'",
    )
    base64_input = {f"{endpoint_input}.encoding": "BASE64", f"{endpoint_input}.data": "MS!wy"}
    reason, text = refusal(_record(**base64_input))  # '!' is outside the alphabet
    assert reason == "encoding" and text.startswith("encoding: BASE64 data: ")


def test_a_base64_body_is_read_by_its_observed_content_type_csv_when_none_is_given():
    endpoint_input = "captureData.endpointInput"
    body = base64.b64encode(b'{"instances": [[1, 2]]}').decode()
    as_json = {
        f"{endpoint_input}.encoding": "BASE64",
        f"{endpoint_input}.data": body,
        f"{endpoint_input}.observedContentType": "application/json; charset=utf-8",
    }
    assert parse_record(_record(**as_json)).rows == [[1, 2]]
    csv = {
        f"{endpoint_input}.encoding": "BASE64",
        f"{endpoint_input}.data": base64.b64encode(b"1,2\n").decode(),
        f"{endpoint_input}.observedContentType": None,
    }
    assert parse_record(_record(**csv)).rows == [[1.0, 2.0]]


def test_an_inference_time_without_a_zone_is_utc_and_one_with_a_zone_keeps_it():
    from datetime import timedelta

    from lifecycle.drift.capture import parse_time

    assert parse_time("2026-11-30T10:00:00") == datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert parse_time("2026-11-30T10:00:00").tzinfo is not None
    assert parse_time("2026-11-30T10:00:00+01:00") == datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert parse_time("2026-11-30T10:00:00+01:00").utcoffset() == timedelta(hours=1)


def test_each_config_refusal_in_full(tmp_path):
    from lifecycle.drift.config import CONFIG_ENV, ConfigError, load_config

    def refusal(argv, environ=None, default_file=tmp_path / "none.json"):
        with pytest.raises(ConfigError) as error:
            load_config(argv, environ=environ or {}, default_file=default_file)
        return str(error.value)

    assert refusal([]) == (
        f"no --config, --config-file or {CONFIG_ENV}; config file {tmp_path / 'none.json'}: "
        "No such file or directory"
    )
    assert refusal(["--config", "{x"]) == (
        "config is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 "
        "(char 1)"
    )
    config = {
        "environment": "dev",
        "window": {"start": "2026-11-30T10:00:00Z"},
        "models": {"churn": {"team": "growth"}},
        "method": "chi2",
    }
    assert refusal(["--config", json.dumps(config)]) == (
        "config.window.end: Field required\nconfig.method: Input should be 'ks' or 'psi'"
    )


def test_the_pipelines_window_end_fills_only_a_missing_window_of_24_hours_by_default():
    from lifecycle.drift.config import WINDOW_END_ENV, load_config

    config = {"environment": "dev", "models": {"churn": {"team": "growth"}}}
    environ = {WINDOW_END_ENV: "2026-11-30T12:00:00Z"}
    window = load_config(["--config", json.dumps(config)], environ=environ).window
    assert (window.start, window.end) == (
        datetime(2026, 11, 29, 12, tzinfo=UTC),
        datetime(2026, 11, 30, 12, tzinfo=UTC),
    )
    own = {"start": "2026-11-30T01:00:00Z", "end": "2026-11-30T02:00:00Z"}
    window = load_config(["--config", json.dumps(config | {"window": own})], environ=environ).window
    assert window.end == datetime(2026, 11, 30, 2, tzinfo=UTC)  # the config's own wins


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        ([1.0], "width", "1 values, baseline has 2"),
        ({"c": 1, "d": 2, "e": 3, "f": 4}, "features", "missing ['a', 'b']"),
        ([True, 1.0], "payload", "a feature value is not a number"),
        (["1", 1.0], "payload", "a feature value is not a number"),
        ([float("nan"), 1.0], "payload", "a feature value is not finite"),
    ],
)
def test_a_row_that_does_not_fit_the_baseline_is_malformed_saying_why(raw, reason, detail):
    with pytest.raises(MalformedRecord) as error:
        _row(raw, ("a", "b"))
    assert (error.value.reason, str(error.value)) == (reason, f"{reason}: {detail}")


def test_at_most_three_missing_features_are_named():
    with pytest.raises(MalformedRecord) as error:
        _row({}, ("a", "b", "c", "d", "e"))
    assert str(error.value) == "features: missing ['a', 'b', 'c']"


def test_psi_compares_proportions_even_of_a_single_row():
    # [1/2, 1/2] against [1, 0] (floored at 1e-4), by hand.
    expected = (1 - 0.5) * np.log(1 / 0.5) + (1e-4 - 0.5) * np.log(1e-4 / 0.5)
    assert psi(np.array([1, 1]), np.array([1, 0])) == pytest.approx(expected)
    assert psi(np.array([1, 0]), np.array([1, 1])) == pytest.approx(expected)


def _summary(rows: int = 300):
    from lifecycle.drift import stats

    rng = np.random.default_rng(0)
    baseline = stats.Baseline(("a", "b"), rng.normal(size=(rows, 2)))
    summary = stats.WindowSummary(baseline, 200, rng)
    for row in (rng.normal(size=(rows, 2)) + [0.5, 0.0]).tolist():
        summary.add(row)
    return summary


def test_psi_decides_at_its_threshold_whatever_ks_says(monkeypatch):
    from types import SimpleNamespace

    from lifecycle.drift import stats

    summary = _summary()
    scores = [r.psi for r in stats.compare(summary, "psi", 1e9)]
    monkeypatch.setattr(
        stats.stats, "ks_2samp", lambda *a, **k: SimpleNamespace(statistic=0.0, pvalue=1.0)
    )
    at_a = stats.compare(summary, "psi", scores[0])
    assert [r.drifted for r in at_a] == [True, scores[1] >= scores[0]]
    assert [r.psi for r in at_a] == scores


def test_ks_at_exactly_its_per_feature_level_is_no_drift(monkeypatch):
    from types import SimpleNamespace

    from lifecycle.drift import stats

    summary = _summary()
    level = 0.05 / 2
    monkeypatch.setattr(
        stats.stats, "ks_2samp", lambda *a, **k: SimpleNamespace(statistic=0.3, pvalue=level)
    )
    results = stats.compare(summary, "ks", 0.05)
    assert [(r.drifted, r.p_value, r.ks_statistic) for r in results] == [(False, level, 0.3)] * 2


def test_the_ks_p_value_is_scipys_asymptotic_one():
    from scipy import stats as scipy_stats

    from lifecycle.drift import stats

    summary = _summary(150)
    results = stats.compare(summary, "ks", 0.05)
    window = summary.reservoir.sample()
    for index, result in enumerate(results):
        expected = scipy_stats.ks_2samp(
            summary.baseline.sample[:, index], window[:, index], method="asymp"
        )
        assert result.p_value == expected.pvalue


def test_a_baseline_needs_two_rows(tmp_path):
    from lifecycle.drift.baseline import load_baseline

    assert _baseline_refusal(tmp_path, "a,b\n1,2\n") == "model churn: PATH: fewer than 2 rows"
    path = _baseline_file(tmp_path, "a,b\n1,2\n3,4\n")
    rng = np.random.default_rng(0)
    assert load_baseline(path, "churn", 100, rng).sample.tolist() == [[1, 2], [3, 4]]


def test_an_unknown_encoding_is_named():
    with pytest.raises(MalformedRecord) as error:
        decode_payload("1,2", "PARQUET", "text/csv")
    assert str(error.value) == "encoding: unknown encoding 'PARQUET'"


def test_a_version_not_judged_does_not_stop_the_versions_after_it(tmp_path):
    from lifecycle.attribution import inference_id
    from lifecycle.drift.job import model_results

    _baseline(tmp_path, "v2.csv", np.random.default_rng(1).normal(size=(200, 2)))
    (tmp_path / "baselines" / "ant").mkdir()
    (tmp_path / "baselines" / "ant" / "v1.csv").write_text("a,b\n1,2\n3,4\n")
    models = {"churn": {"team": "growth"}, "ant": {"team": "growth", "features": ["nope"]}}
    window = _window(tmp_path, models=models, min_rows=5)
    when = datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    for model, version in [("ant", 1)] * 10 + [("churn", 1)] + [("churn", 2)] * 10:
        line = capture_line([0.0, 1.0], when=when, inference=inference_id(model, version))
        window.add_line("ep", line)
    results = model_results(window)
    assert [(r["model"], r["version"], r["status"]) for r in results] == [
        ("ant", 1, "no_watched_features"),
        ("churn", 1, "no_baseline"),
        ("churn", 2, "drift"),  # a constant window against a normal baseline
    ]
    assert results[0] == {
        "model": "ant",
        "version": 1,
        "team": "growth",
        "rows": 10,
        "status": "no_watched_features",
        "features": [],
        "driftedFeatures": [],
        "driftedShare": 0.0,
    }


def test_psi_bins_are_cut_at_the_baselines_nine_interior_deciles():
    from lifecycle.drift import stats

    values = np.arange(1001, dtype=float).reshape(-1, 1)  # 0 .. 1000: decile k is 100 k
    (edges,) = stats.Baseline(("a",), values).bin_edges()
    assert edges.tolist() == pytest.approx([100.0 * k for k in range(1, 10)])


def test_window_counts_fall_in_the_bins_of_the_baselines_edges():
    from lifecycle.drift import stats

    values = np.arange(1001, dtype=float).reshape(-1, 1)
    summary = stats.WindowSummary(stats.Baseline(("a",), values), 100, np.random.default_rng(0))
    for value in (-5.0, -1.0, 100.0, 950.0, 5000.0):
        summary.add([value])
    summary.flush()
    assert summary.counts[0].tolist() == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    low = stats.WindowSummary(stats.Baseline(("a",), values), 100, np.random.default_rng(0))
    low.add([-1.0])  # only the first bin: the others stay empty
    low.flush()
    assert low.counts[0].tolist() == [1] + [0] * 9


class _HalfRng:
    """Every draw is 0.5, so algorithm R's slots are known: row i goes to floor(0.5 (i + 1))."""

    def random(self, count):
        return np.full(count, 0.5)


def test_the_reservoir_follows_algorithm_r():
    reservoir = Reservoir(2, 1, _HalfRng())
    reservoir.add(np.array([[0.0], [1.0], [2.0]]))  # fills 0, 1; row 2 -> slot 1
    assert reservoir.rows[:, 0].tolist() == [0.0, 2.0]
    reservoir.add(np.array([[3.0]]))  # row 3 -> slot 2: not kept
    assert reservoir.rows[:, 0].tolist() == [0.0, 2.0]
    reservoir.add(np.array([[4.0]]))  # row 4 -> slot 2: not kept
    reservoir = Reservoir(3, 1, _HalfRng())
    reservoir.add(np.array([[0.0], [1.0], [2.0]]))
    reservoir.add(np.array([[5.0]]))  # row 3 -> slot 2
    assert reservoir.rows[:, 0].tolist() == [0.0, 1.0, 5.0] and reservoir.seen == 4
