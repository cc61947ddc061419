"""The batch scoring job: a table in, the model's predictions out, on Spark.

The model comes from the archive its endpoint serves (``model_packages.packaging``: the MLflow
model at the archive's root, or at ``<model>/1/mlflow_model/`` in the Triton layout), shipped to
every executor with ``SparkContext.addArchive``, which unpacks it there: the job scores with the
same bytes the endpoint loads, whether the archive is a local file or an ``s3://`` object.

Scoring is a pandas function over Arrow batches (``DataFrame.mapInPandas``) that loads the model
with ``mlflow.pyfunc.load_model`` once per Python worker and calls its ``predict``. Not
``mlflow.pyfunc.spark_udf``, because spark_udf
- ships the model itself (it copies the local model directory and distributes its own zip): the
  executors would load a copy the job made, not the archive the endpoint serves;
- returns one column, so keeping the input's other columns (ids) and checking the signature's
  features against the table would be done around it anyway; here the output schema (input
  columns + ``prediction``) and every bad-input message are the job's own.
Both run the model on pandas batches through Arrow; the predictions are the model's own.

Output: Parquet under ``<output>/model_version=<v>/run_id=<id>/``. Idempotent on retry: the run
id is derived from the inputs (the model's MLmodel, the input's file names, the features) unless
given, and the write is a dynamic partition overwrite, which replaces only the partitions the run
writes: a retried run replaces its own partition (exactly one copy), other runs stay.

Run under spark-submit as ``python -m lifecycle.batch.score --help`` (EMR), or locally through
``mlplat batch run`` (``lifecycle.batch.local``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

PREDICTION = "prediction"
MODEL_VERSION = "model_version"
RUN_ID = "run_id"
FORMATS = ("parquet", "csv", "json")
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # a partition value: no '/' or '='
TRITON_MODEL_GLOB = "*/1/mlflow_model/MLmodel"  # packaging's Triton layout

# The conf to submit the job with on spot executors (EMR on EKS sparkSubmitParameters). Spark's
# graceful decommissioning: on a spot interruption notice (two minutes on AWS) the executor
# stops taking tasks and migrates its cached and shuffle blocks to live executors (or to the
# fallback path) instead of losing them, so the stage is not recomputed. Keys as defined in
# Spark's core config (spark/core/.../internal/config/package.scala; checked in pyspark 4.3's
# spark-core jar); https://spark.apache.org/docs/latest/configuration.html ("Decommission").
RECOMMENDED_CONF = {
    "spark.decommission.enabled": "true",
    "spark.storage.decommission.enabled": "true",
    "spark.storage.decommission.shuffleBlocks.enabled": "true",
    "spark.storage.decommission.rddBlocks.enabled": "true",
    # Where blocks go when no executor can take them: an S3 prefix per job, set when submitting
    # ("spark.storage.decommission.fallbackStorage.path": "s3://<bucket>/spark-fallback/<job>/").
    # Kill a decommissioned executor before the spot node disappears (120 s notice); the setting
    # was added for exactly this case (apache/spark#28619, SPARK-21040: "around 2 mins in aws
    # spot nodes").
    "spark.executor.decommission.killInterval": "110s",
    # A retry replaces only its own run's partition (see the module docstring).
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
}

# Spark type names of the numpy dtypes MLflow tensor signatures use.
_SPARK_TYPES = {
    "float64": "double",
    "float32": "float",
    "int64": "bigint",
    "int32": "int",
    "bool": "boolean",
}


class BatchError(Exception):
    """Bad input to a scoring run: the message names the model, the file and the column."""


@dataclass(frozen=True, kw_only=True)
class ScoreJob:
    model: str
    version: int
    archive: str  # the endpoint's archive, <model>-v<version>.tar.gz: a path or an s3:// URI
    input: str  # a file or a prefix of Parquet, CSV (with a header) or JSON lines
    output: str  # the output prefix; partitions model_version=/run_id= below it
    input_format: str | None = None  # inferred from the path's suffix when None
    features: tuple[str, ...] | None = None  # a tensor model's columns, in order
    run_id: str | None = None  # derived from the inputs when None


@dataclass(frozen=True)
class ScoreResult:
    run_id: str
    rows: int
    partition: str  # where this run's predictions are


@dataclass(frozen=True)
class ModelInputs:
    """What the model's signature says it takes and returns, in Spark's terms."""

    features: tuple[str, ...]
    tensor: bool  # one array of the features in order (numpy), not named columns (pandas)
    numpy_dtype: str | None  # the tensor's dtype
    output_type: str  # Spark DDL type of the prediction column


def score(spark: SparkSession, job: ScoreJob) -> ScoreResult:
    """Score ``job.input`` with the model in ``job.archive`` and write this run's partition."""
    from pyspark import SparkFiles
    from pyspark.sql import functions as F

    if job.run_id is not None and not RUN_ID_PATTERN.fullmatch(job.run_id):
        raise BatchError(
            f"model {job.model!r}: run id {job.run_id!r}: use {RUN_ID_PATTERN.pattern}"
        )
    frame = read_input(spark, job)
    archive_name = PurePosixPath(job.archive).name
    spark.sparkContext.addArchive(job.archive)
    model_dir = _mlflow_model_dir(job, Path(SparkFiles.get(archive_name)))
    inputs = model_inputs(job, model_dir, frame.columns)
    _check_columns(job, frame, inputs)
    run_id = job.run_id or derive_run_id(job, model_dir, frame.inputFiles(), inputs.features)

    typed = frame.select(
        *[
            F.col(c).cast(_SPARK_TYPES[inputs.numpy_dtype]) if inputs.tensor else F.col(c)
            for c in inputs.features
        ],
        *[c for c in frame.columns if c not in inputs.features],
    )
    schema = ", ".join(
        [f"`{f.name}` {f.dataType.simpleString()}" for f in typed.schema.fields]
        + [f"`{PREDICTION}` {inputs.output_type}"]
    )
    relative = model_dir.relative_to(Path(SparkFiles.get(archive_name))).as_posix()
    predictions = typed.mapInPandas(_predictor(archive_name, relative, inputs), schema)
    (
        predictions.withColumn(MODEL_VERSION, F.lit(job.version))
        .withColumn(RUN_ID, F.lit(run_id))
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .partitionBy(MODEL_VERSION, RUN_ID)
        .parquet(job.output)
    )
    partition = f"{job.output.rstrip('/')}/{MODEL_VERSION}={job.version}/{RUN_ID}={run_id}"
    rows = spark.read.parquet(partition).count() if _written(spark, partition) else 0
    return ScoreResult(run_id, rows, partition)


def read_input(spark: SparkSession, job: ScoreJob) -> DataFrame:
    from pyspark.errors import AnalysisException

    fmt = job.input_format or infer_format(job)
    reader = spark.read.format(fmt)
    if fmt == "csv":
        reader = reader.option("header", True).option("inferSchema", True)
    if fmt == "json":  # the events sink writes under <model>/events/yyyy/MM/dd/HH/
        reader = reader.option("recursiveFileLookup", True)
    try:
        frame = reader.load(job.input)
    except AnalysisException as error:  # e.g. [PATH_NOT_FOUND]
        first_line = str(error).splitlines()[0]
        raise BatchError(f"model {job.model!r}: input {job.input}: {first_line}") from None
    return events_as_rows(job, frame) if set(frame.columns) >= EVENT_COLUMNS else frame


# Prediction events (lifecycle/events: a capture line plus the model's identity) as read from
# the events table: one row each, its features a JSON object in captureData.endpointInput.data.
EVENT_COLUMNS = {"model", "modelVersion", "captureData", "eventMetadata"}
INFERENCE_ID = "inference_id"


def events_as_rows(job: ScoreJob, events: DataFrame) -> DataFrame:
    """The job's model's events as rows of their features, with the inference id kept."""
    from pyspark.sql import functions as F

    mine = events.where(F.col("model") == job.model)
    sample = mine.select("captureData.endpointInput.data").first()
    if sample is None:
        raise BatchError(f"model {job.model!r}: input {job.input}: no prediction events of it")
    features = F.from_json("captureData.endpointInput.data", F.schema_of_json(F.lit(sample[0])))
    return mine.select(
        F.col("eventMetadata.inferenceId").alias(INFERENCE_ID), features.alias("f")
    ).select(INFERENCE_ID, "f.*")


def infer_format(job: ScoreJob) -> str:
    """The input's format from its suffix, or (a local folder) from its files' suffixes."""
    path = Path(job.input)
    local = "://" not in job.input
    if local and not path.exists():
        raise BatchError(f"model {job.model!r}: input {job.input}: no such file or folder")
    names = [path.name]
    if local and path.is_dir():
        names = [p.name for p in path.rglob("*") if p.is_file() and p.name[0] not in "._"]
    found = {_format_of(name) for name in names} - {None}
    if len(found) != 1:
        what = "no" if not found else "mixed " + "/".join(sorted(found))
        raise BatchError(
            f"model {job.model!r}: input {job.input}: {what} files of a known format; "
            f"give the format ({'|'.join(FORMATS)})"
        )
    return found.pop()


def _format_of(name: str) -> str | None:
    for suffix in PurePosixPath(name).suffixes:  # part-0.snappy.parquet, data.csv.gz
        fmt = {".parquet": "parquet", ".csv": "csv", ".json": "json", ".jsonl": "json"}.get(suffix)
        if fmt:
            return fmt
    return None


def _mlflow_model_dir(job: ScoreJob, unpacked: Path) -> Path:
    if (unpacked / "MLmodel").is_file():
        return unpacked
    found = sorted(unpacked.glob(TRITON_MODEL_GLOB))
    if not found:
        raise BatchError(f"model {job.model!r}: archive {job.archive}: no MLflow model (MLmodel)")
    return found[0].parent


def model_inputs(job: ScoreJob, model_dir: Path, columns: Sequence[str]) -> ModelInputs:
    """The features and prediction type from the model's signature (MLflow's own parser)."""
    from mlflow.models import Model

    signature = Model.load(str(model_dir)).signature
    where = f"model {job.model!r}: archive {job.archive}"
    if signature is None or signature.inputs is None or signature.outputs is None:
        raise BatchError(f"{where}: the MLflow model has no signature (inputs and outputs)")
    output_type = _output_type(where, signature.outputs)
    if not signature.inputs.is_tensor_spec():
        names = tuple(signature.inputs.input_names())
        if job.features and tuple(job.features) != names:
            raise BatchError(f"{where}: the signature names its features: {', '.join(names)}")
        return ModelInputs(names, tensor=False, numpy_dtype=None, output_type=output_type)
    specs = signature.inputs.inputs
    shape = specs[0].shape
    if len(specs) != 1 or len(shape) != 2 or shape[1] < 1:
        raise BatchError(f"{where}: only one [-1, n] tensor input is supported, not {shape}")
    dtype = str(specs[0].type)
    if dtype not in _SPARK_TYPES:
        raise BatchError(f"{where}: tensor dtype {dtype} is not supported")
    width = shape[1]
    # An unnamed tensor: the features are the columns the job is given, in order, by default
    # feature_0..feature_<n-1>.
    features = tuple(job.features or (f"feature_{i}" for i in range(width)))
    if len(features) != width:
        raise BatchError(
            f"{where}: the model takes {width} features, {len(features)} were given "
            f"({', '.join(features)})"
        )
    return ModelInputs(features, tensor=True, numpy_dtype=dtype, output_type=output_type)


def _output_type(where: str, outputs) -> str:
    if outputs.is_tensor_spec():
        (spec,) = outputs.inputs
        element = _SPARK_TYPES.get(str(spec.type))
        if element is None or len(spec.shape) not in (1, 2):
            raise BatchError(f"{where}: output tensor {spec.type} {spec.shape} is not supported")
        return element if len(spec.shape) == 1 else f"array<{element}>"
    if len(outputs.inputs) != 1:
        raise BatchError(f"{where}: only one output column is supported")
    return outputs.inputs[0].type.to_spark().simpleString()


def _check_columns(job: ScoreJob, frame: DataFrame, inputs: ModelInputs) -> None:
    from pyspark.sql.types import BooleanType, NumericType

    where = f"model {job.model!r}: input {job.input}"
    types = {f.name: f.dataType for f in frame.schema.fields}
    missing = [c for c in inputs.features if c not in types]
    if missing:
        raise BatchError(
            f"{where}: no column {', '.join(repr(c) for c in missing)} "
            f"(the model's features: {', '.join(inputs.features)}; the input has "
            f"{', '.join(frame.columns)})"
        )
    if inputs.tensor:
        wrong = [
            f"{c!r} is {types[c].simpleString()}"
            for c in inputs.features
            if not isinstance(types[c], NumericType | BooleanType)
        ]
        if wrong:
            raise BatchError(f"{where}: features must be numeric: {'; '.join(wrong)}")
    taken = [c for c in (PREDICTION, MODEL_VERSION, RUN_ID) if c in types]
    if taken:
        raise BatchError(f"{where}: column {', '.join(taken)} is the job's output; rename it")


def derive_run_id(
    job: ScoreJob, model_dir: Path, input_files: Sequence[str], features: Sequence[str]
) -> str:
    """The same model, input files and features give the same id: a retry finds its partition."""
    digest = hashlib.sha256((model_dir / "MLmodel").read_bytes())  # model_uuid, signature
    for part in (job.model, str(job.version), *sorted(input_files), "\0", *features):
        digest.update(part.encode() + b"\n")
    return digest.hexdigest()[:16]


_models: dict[str, object] = {}  # per Python worker: a model is loaded once, not per batch


def _load(path: str):
    if path not in _models:
        import mlflow.pyfunc

        _models[path] = mlflow.pyfunc.load_model(path)
    return _models[path]


def _predictor(
    archive_name: str, relative_dir: str, inputs: ModelInputs
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    features = list(inputs.features)

    def predict(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import numpy as np
        from pyspark import SparkFiles

        model = _load(str(Path(SparkFiles.get(archive_name)) / relative_dir))
        for batch in batches:
            x = batch[features]
            # A tensor model gets the array the endpoint gets (rows of features in order).
            y = np.asarray(model.predict(x.to_numpy(inputs.numpy_dtype) if inputs.tensor else x))
            batch[PREDICTION] = list(y) if y.ndim > 1 else y
            yield batch

    return predict


def _written(spark: SparkSession, path: str) -> bool:
    jvm_path = spark._jvm.org.apache.hadoop.fs.Path(path)  # Hadoop's view: local or s3://
    return jvm_path.getFileSystem(spark._jsc.hadoopConfiguration()).exists(jvm_path)


def quiet_pandas_warning() -> None:
    # PySpark 4.3 warns that pandas 3 is "not yet fully supported"; the job's numeric batches
    # are checked row for row against pandas (tests/lifecycle/test_batch_score.py).
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: the session comes with the submitted conf."""
    parser = argparse.ArgumentParser(prog="python -m lifecycle.batch.score")
    parser.add_argument("--model", required=True)
    parser.add_argument("--version", type=int, required=True)
    parser.add_argument("--archive", required=True, help="<model>-v<version>.tar.gz, path or URI")
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--format", choices=FORMATS)
    parser.add_argument("--features", help="comma-separated, in the model's order")
    parser.add_argument("--run-id")
    args = parser.parse_args(argv)
    from pyspark.sql import SparkSession

    quiet_pandas_warning()
    job = ScoreJob(
        model=args.model,
        version=args.version,
        archive=args.archive,
        input=args.input,
        output=args.output,
        input_format=args.format,
        features=tuple(args.features.split(",")) if args.features else None,
        run_id=args.run_id,
    )
    spark = SparkSession.builder.appName(f"mlplat-batch-{job.model}").getOrCreate()
    try:
        result = score(spark, job)
    except BatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result.__dict__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
