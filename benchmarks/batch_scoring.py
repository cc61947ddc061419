"""Batch scoring throughput: the Spark job on local[1] and local[2] against one pandas process,
and what a million rows cost on EMR on EKS spot against the model's real-time endpoint.

    .venv/bin/python benchmarks/batch_scoring.py --rows 5000000 --json

The shipped sklearn models take 6 features; the issue asks for >= 20, so the benchmark trains the
same estimator as the first sklearn model declared in prod (same class and hyperparameters) on
``--features`` generated features, saves it as an MLflow model and packages it with
``model_packages.packaging`` (the archive an endpoint would serve). Each engine runs in its own
process on the same Parquet input (8 files); every timing covers read, predict and Parquet write.

Costs use ``infra/prices.json`` (see ``cost_per_million_rows`` for the assumptions).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# EMR on EKS charges per vCPU-hour and GB-hour of the driver and executor pods, per second
# (docs.aws.amazon.com/emr/latest/EMR-on-EKS-DevelopmentGuide/spark-submit.html, "Note"); the
# rates are the price snapshot's (mlplat/cost/prices.json, emr_on_eks, with their source).
GB_PER_VCPU = 4  # m-family nodes: 16 GiB per 4 vCPU; executors sized to the node's ratio
EXECUTOR_VCPUS_PER_DRIVER = 16  # a job's one on-demand driver pod (1 vCPU) per 16 executor vCPUs
ON_DEMAND_DRIVER = "m6i.xlarge"  # the driver runs on on-demand nodes: priced per vCPU of this


def _reference_model(stack: str = "prod"):
    from infra.loader import load_environment, read_stack_config

    spec = load_environment(stack, read_stack_config(stack))
    model = next(
        m for m in spec.models if m.framework == "sklearn" and m.serving == "sagemaker-mme"
    )
    return spec, model


def build_model(workdir: Path, features: int) -> tuple[str, Path]:
    """The reference model's estimator, trained on ``features`` features, packaged as an archive."""
    import mlflow.sklearn
    import numpy as np
    from mlflow.models import infer_signature
    from sklearn.base import clone

    from infra.project import PROJECT_ROOT
    from model_packages.packaging import package_model

    _, reference = _reference_model()
    source = PROJECT_ROOT / reference.artifact / "model.pkl"
    with source.open("rb") as handle:
        estimator = clone(pickle.load(handle))  # same class and hyperparameters, untrained
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, features))
    y = (x[:, :3].sum(axis=1) + rng.normal(scale=0.5, size=len(x)) > 0).astype("int64")
    estimator.fit(x, y)
    model_dir = workdir / "mlflow_model"
    mlflow.sklearn.save_model(
        estimator,
        str(model_dir),
        serialization_format="pickle",  # as the shipped models (model_packages/build_examples.py)
        signature=infer_signature(x, y),
    )
    name = f"bench-{features}f"
    package = package_model(name, 1, str(model_dir), cache_dir=workdir / "packages")
    return name, package.path


def generate_table(folder: Path, rows: int, features: int, files: int = 8) -> None:
    import numpy as np
    import pandas as pd

    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    per_file = -(-rows // files)
    for index in range(files):
        count = min(per_file, rows - index * per_file)
        frame = pd.DataFrame(
            rng.normal(size=(count, features)), columns=[f"feature_{i}" for i in range(features)]
        )
        frame.insert(0, "id", np.arange(index * per_file, index * per_file + count))
        frame.to_parquet(folder / f"part-{index:02d}.parquet")


def run_pandas(archive: Path, table: Path, output: Path) -> dict:
    import mlflow.pyfunc
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as handle:
            handle.extractall(tmp, filter="data")
        model = mlflow.pyfunc.load_model(tmp)
        start = time.perf_counter()
        frame = pd.read_parquet(table)
        features = [c for c in frame.columns if c.startswith("feature_")]
        predict_start = time.perf_counter()
        frame["prediction"] = model.predict(frame[features].to_numpy())
        predict_seconds = time.perf_counter() - predict_start
        output.mkdir(parents=True)
        frame.to_parquet(output / "predictions.parquet")
        seconds = time.perf_counter() - start
    return {
        "engine": "pandas",
        "cores": 1,
        "rows": len(frame),
        "seconds": seconds,
        "predict_seconds": predict_seconds,
    }


def run_spark(name: str, archive: Path, table: Path, output: Path, cores: int) -> dict:
    from lifecycle.batch.local import local_session
    from lifecycle.batch.score import ScoreJob, score

    started = time.perf_counter()
    spark = local_session(cores, app="mlplat-batch-benchmark")
    session_seconds = time.perf_counter() - started
    job = ScoreJob(
        model=name, version=1, archive=str(archive), input=str(table), output=str(output)
    )
    start = time.perf_counter()
    result = score(spark, job)
    seconds = time.perf_counter() - start
    spark.stop()
    return {
        "engine": "spark",
        "cores": cores,
        "rows": result.rows,
        "seconds": seconds,
        "session_seconds": session_seconds,
    }


def cost_per_million_rows(spark_rows_per_core_second: float) -> dict:
    """Assumptions: EMR on EKS executors on the prod spot node group's types, priced at the
    dearest type less the cost model's spot discount (the snapshot has no spot prices), plus EMR
    on EKS's vCPU and GB uplift, plus one on-demand driver vCPU per 16 executor vCPUs; the
    local per-core rate holds per executor vCPU. The endpoint at its scaling limit: max_instances
    instances of its type, each held by target tracking at target_invocations_per_instance per
    minute, one row per request, the whole instance charged to this model (an MME shares it)."""
    from cost_model.estimate import EstimateOptions, _node_rate  # the cost model's spot pricing
    from cost_model.prices import load_snapshot

    spec, model = _reference_model()
    region_name = spec.settings.region
    prices = load_snapshot().region(region_name)
    options = EstimateOptions()
    spot_types = list(spec.settings.cluster.spot_nodes.instance_types)
    node_hour, node_basis = _node_rate(spot_types, True, prices, region_name, options)
    vcpus = 4  # the prod spot types are all xlarge: 4 vCPU, 16 GiB
    uplift = prices.emr_on_eks.vcpu_hour + GB_PER_VCPU * prices.emr_on_eks.gb_hour
    driver = prices.ec2_hour(ON_DEMAND_DRIVER, region_name) / vcpus + uplift
    vcpu_hour = node_hour / vcpus + uplift + driver / EXECUTOR_VCPUS_PER_DRIVER
    spark_cost = vcpu_hour / (spark_rows_per_core_second * 3600) * 1e6

    instance = model.effective_instance_type
    endpoint_hour = prices.sagemaker_hour(instance, region_name) * model.scaling.max_instances
    rows_hour = model.scaling.max_instances * model.scaling.target_invocations_per_instance * 60
    # EMR Serverless, the alternative for teams without EKS: its rate includes the compute, but
    # never at spot prices (no interruptible capacity), per vCPU with the same 4 GB.
    serverless = prices.emr_serverless.vcpu_hour + GB_PER_VCPU * prices.emr_serverless.gb_hour
    return {
        "region": region_name,
        "emr_serverless_vcpu_hour_usd": round(serverless, 5),
        "spark_spot_usd_per_million_rows": round(spark_cost, 5),
        "spark_vcpu_hour_usd": round(vcpu_hour, 5),
        "spark_node_basis": node_basis,
        "endpoint_model": model.name,
        "endpoint_usd_per_million_rows": round(endpoint_hour / rows_hour * 1e6, 4),
        "endpoint_basis": (
            f"{model.scaling.max_instances} x {instance} at "
            f"{model.scaling.target_invocations_per_instance}/min each"
        ),
    }


def _child(args: argparse.Namespace) -> None:
    archive, table, output = Path(args.archive), Path(args.table), Path(args.output)
    if args.engine == "pandas":
        result = run_pandas(archive, table, output)
    else:
        result = run_spark(args.name, archive, table, output, args.cores)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--cores", type=int, help=argparse.SUPPRESS)
    for hidden in ("--engine", "--name", "--archive", "--table", "--output"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        _child(args)
        return
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="mlplat-batch-bench-") as tmp:
        work = Path(tmp)
        name, archive = build_model(work, args.features)
        generate_table(work / "table", args.rows, args.features)
        results = []
        for engine, cores in (("pandas", 1), ("spark", 1), ("spark", 2)):
            command = [
                sys.executable,
                __file__,
                "--engine",
                engine,
                "--cores",
                str(cores),
                "--name",
                name,
                "--archive",
                str(archive),
                "--table",
                str(work / "table"),
                "--output",
                str(work / f"out-{engine}-{cores}"),
            ]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["rows_per_second"] = round(result["rows"] / result["seconds"])
            results.append(result)
    one, two = (r for r in results if r["engine"] == "spark")
    summary = {
        "rows": args.rows,
        "features": args.features,
        "load_average_1m_at_start": round(load, 2),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "spark_speedup_2_vs_1_cores": round(two["rows_per_second"] / one["rows_per_second"], 2),
        **cost_per_million_rows(one["rows_per_second"]),
    }
    for record in [*results, summary]:
        print(json.dumps(record) if args.json else record)


if __name__ == "__main__":
    main()
