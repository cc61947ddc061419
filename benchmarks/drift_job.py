"""Drift job benchmarks: detection quality, throughput and memory (issue 16).

    .venv/bin/python benchmarks/drift_job.py quality --trials 400 --json
    .venv/bin/python benchmarks/drift_job.py throughput --records 1000000 --models 100 --json
    /path/to/venv-with-evidently/bin/python benchmarks/drift_job.py evidently --json

``quality``: windows of generated data, 20 standard-normal features, baseline of
``--baseline`` rows; a drifted window shifts one feature's mean by 0.5 standard deviations. Each
window goes through the job's own summary and decision code (``WindowSummary`` + ``compare``) at
each method's default threshold and a laxer one; a window is flagged when the model's status
would be "drift".
``throughput``: writes ``--records`` capture lines (CSV, AWS's format, evenly over ``--models``
models, 20 features) to a temporary capture folder, then runs the whole job (without the AWS
publishing) in a fresh process and reports records/s of process CPU time and peak RSS.
``evidently``: Evidently's DataDriftPreset on the same shapes, for the choice of library.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FEATURES = 20
SHIFTED = 7


QUALITY_SETTINGS = [("ks", 0.01), ("ks", 0.05), ("psi", 0.1), ("psi", 0.2)]


def _quality(args) -> list[dict]:
    from lifecycle.drift.stats import Baseline, WindowSummary, compare

    rng = np.random.default_rng(args.seed)
    flagged = {(setting, kind): 0 for setting in QUALITY_SETTINGS for kind in ("drift", "none")}
    right_feature = dict.fromkeys(QUALITY_SETTINGS, 0)
    for _ in range(args.trials):
        baseline = Baseline(
            tuple(f"f{i}" for i in range(FEATURES)), rng.normal(size=(args.baseline, FEATURES))
        )
        for kind in ("drift", "none"):
            window = rng.normal(size=(args.window, FEATURES))
            if kind == "drift":
                window[:, SHIFTED] += 0.5
            summary = WindowSummary(baseline, args.reservoir, rng)
            for row in window.tolist():
                summary.add(row)
            for setting in QUALITY_SETTINGS:
                features = compare(summary, *setting)
                if any(f.drifted for f in features):
                    flagged[(setting, kind)] += 1
                    right_feature[setting] += kind == "drift" and features[SHIFTED].drifted
    return [
        {
            "method": method,
            "threshold": threshold,
            "window_rows": args.window,
            "baseline_rows": args.baseline,
            "trials": args.trials,
            "detection_rate": flagged[((method, threshold), "drift")] / args.trials,
            "shifted_feature_found": right_feature[(method, threshold)] / args.trials,
            "false_alarm_rate": flagged[((method, threshold), "none")] / args.trials,
        }
        for method, threshold in QUALITY_SETTINGS
    ]


def _write_capture(root: Path, records: int, models: int, seed: int) -> datetime:
    from lifecycle.attribution import inference_id
    from lifecycle.drift.baseline import baseline_path
    from lifecycle.drift.synthetic import capture_path, write_baseline

    rng = np.random.default_rng(seed)
    start = datetime(2026, 11, 30, tzinfo=UTC)
    names = [f"model-{i:03d}" for i in range(models)]
    ids = [inference_id(name, 1, token="benchmark0") for name in names]
    for name in names:
        write_baseline(
            baseline_path(root / "baselines", name, 1),
            [f"f{i}" for i in range(FEATURES)],
            rng.normal(size=(2000, FEATURES)),
        )
    per_file = 50_000
    for part, first in enumerate(range(0, records, per_file)):
        count = min(per_file, records - first)
        values = np.round(rng.normal(size=(count, FEATURES)), 4)
        when = start + timedelta(seconds=first * 3600 // records)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        path = capture_path(root / "capture", "mlplat-bench", "AllTraffic", start, f"part-{part}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as handle:
            for offset, row in enumerate(values.tolist()):
                index = first + offset
                data = ",".join(map(str, row))
                handle.write(
                    '{"captureData":{"endpointInput":{"observedContentType":"text/csv",'
                    f'"mode":"INPUT","data":"{data}\\n","encoding":"CSV"}},'
                    '"endpointOutput":{"observedContentType":"text/csv; charset=utf-8",'
                    '"mode":"OUTPUT","data":"0.5","encoding":"CSV"}},'
                    f'"eventMetadata":{{"eventId":"e-{index}","inferenceTime":"{stamp}",'
                    f'"inferenceId":"{ids[index % models]}"}},"eventVersion":"0"}}\n'
                )
    return start


def _run_job(root: Path, models: int, start: datetime) -> dict:
    """The job without publishing, in this process: stream the window and decide."""
    from lifecycle.drift.config import JobConfig
    from lifecycle.drift.job import build_report, stream

    config = JobConfig.model_validate(
        {
            "environment": "bench",
            "window": {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
            "models": {f"model-{i:03d}": {"team": "bench"} for i in range(models)},
            "capture_dir": str(root / "capture"),
            "baseline_dir": str(root / "baselines"),
            "seed": 1,
        }
    )
    cpu0, wall0 = time.process_time(), time.perf_counter()
    report = build_report(stream(config))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    records = sum(e["records"] for e in report["endpoints"].values())
    rows = sum(m["rows"] for m in report["models"])
    return {
        "records": records,
        "rows_evaluated": rows,
        "models": len(report["models"]),
        "cpu_seconds": round(cpu, 2),
        "wall_seconds": round(wall, 2),
        "records_per_cpu_second": round(records / cpu),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "drift_flagged": sum(m["status"] == "drift" for m in report["models"]),
    }


def _throughput(args) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        start = _write_capture(root, args.records, args.models, args.seed)
        # A fresh process: its peak RSS is the job's, not the generator's.
        result = subprocess.run(
            [sys.executable, __file__, "_job", str(root), str(args.models), start.isoformat()],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(result.stdout)


def _evidently(args) -> dict:
    import pandas as pd
    from evidently import Dataset, Report
    from evidently.presets import DataDriftPreset

    rng = np.random.default_rng(args.seed)
    columns = [f"f{i}" for i in range(FEATURES)]
    timings = []
    for _ in range(args.trials):
        reference = pd.DataFrame(rng.normal(size=(args.baseline, FEATURES)), columns=columns)
        current = pd.DataFrame(rng.normal(size=(args.window, FEATURES)), columns=columns)
        began = time.process_time()
        Report([DataDriftPreset()]).run(
            Dataset.from_pandas(current), Dataset.from_pandas(reference)
        )
        timings.append(time.process_time() - began)
    return {
        "library": "evidently",
        "per_model_cpu_seconds": round(float(np.median(timings)), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _lean(args) -> dict:
    """The job's own per-model decision on the same shapes, for comparison with Evidently."""
    from lifecycle.drift.stats import Baseline, WindowSummary, compare

    rng = np.random.default_rng(args.seed)
    timings = []
    for _ in range(args.trials):
        baseline = Baseline(
            tuple(f"f{i}" for i in range(FEATURES)), rng.normal(size=(args.baseline, FEATURES))
        )
        window = rng.normal(size=(args.window, FEATURES))
        began = time.process_time()
        summary = WindowSummary(baseline, 2000, rng)
        for row in window.tolist():
            summary.add(row)
        compare(summary, "ks", 0.05)
        timings.append(time.process_time() - began)
    return {
        "library": "scipy+numpy (lifecycle.drift.stats)",
        "per_model_cpu_seconds": round(float(np.median(timings)), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    if sys.argv[1:2] == ["_job"]:
        root, models, start = sys.argv[2:5]
        print(json.dumps(_run_job(Path(root), int(models), datetime.fromisoformat(start))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["quality", "throughput", "evidently", "lean"])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=2000)
    parser.add_argument("--reservoir", type=int, default=2000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    run = {"quality": _quality, "throughput": _throughput, "evidently": _evidently, "lean": _lean}[
        args.what
    ]
    result = run(args)
    for line in result if isinstance(result, list) else [result]:
        print(json.dumps(line) if args.json else line)


if __name__ == "__main__":
    main()
