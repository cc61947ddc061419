"""The drift job's parts: the capture reader, the bounded window summary, the PSI."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

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
