"""The batch scoring job on a local Spark, with a shipped model from the archive it is served from.

One Spark session for the module (it takes tens of seconds to start); the CLI test reuses it.
"""

from __future__ import annotations

import tarfile

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.slow  # Spark in a JVM: slow, but part of the default run

ROWS = 2_000


@pytest.fixture(scope="module")
def spark():
    from lifecycle.batch.local import java_problem, local_session

    problem = java_problem()
    assert problem is None, problem  # .ci/run installs the JRE: its absence is a failure here
    session = local_session(cores=2, app="mlplat-batch-tests")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def served():
    """The first sklearn model declared in dev, and the archive its endpoint serves."""
    from infra.loader import load_environment, read_stack_config
    from mlplat.commands_batch import served_archive

    spec = load_environment("dev", read_stack_config("dev"))
    model = next(m for m in spec.models if m.framework == "sklearn")
    return model, served_archive(spec, model.name)


@pytest.fixture(scope="module")
def pandas_model(served, tmp_path_factory):
    """The same archive unpacked and loaded in this process: the model's own pandas predictions."""
    import mlflow.pyfunc

    _, package = served
    folder = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(package.path) as archive:
        archive.extractall(folder, filter="data")
    return mlflow.pyfunc.load_model(str(folder))


@pytest.fixture(scope="module")
def table(pandas_model, tmp_path_factory):
    """A generated input: an id column and the model's features feature_0..feature_<n-1>."""
    width = pandas_model.metadata.get_input_schema().inputs[0].shape[1]
    rng = np.random.default_rng(18)
    frame = pd.DataFrame(
        rng.normal(size=(ROWS, width)), columns=[f"feature_{i}" for i in range(width)]
    )
    frame.insert(0, "id", np.arange(ROWS))
    path = tmp_path_factory.mktemp("input") / "table.parquet"
    frame.to_parquet(path)
    return frame, path


def _job(served, input_path, output, **changes):
    from lifecycle.batch.score import ScoreJob

    model, package = served
    fields = dict(
        model=model.name,
        version=model.version,
        archive=str(package.path),
        input=str(input_path),
        output=str(output),
    )
    return ScoreJob(**(fields | changes))


def test_spark_scores_equal_the_models_pandas_predictions_row_for_row(
    spark, served, pandas_model, table, tmp_path
):
    from lifecycle.batch.score import PREDICTION, score

    frame, path = table
    result = score(spark, _job(served, path, tmp_path / "out"))

    scored = pd.read_parquet(result.partition).sort_values("id").reset_index(drop=True)
    features = [c for c in frame.columns if c != "id"]
    expected = pandas_model.predict(frame[features].to_numpy())
    assert result.rows == len(scored) == ROWS
    assert scored["id"].tolist() == frame["id"].tolist()  # every row once, ids passed through
    np.testing.assert_array_equal(scored[PREDICTION].to_numpy(), np.asarray(expected))


def test_the_partition_is_named_by_model_version_and_run_id(spark, served, table, tmp_path):
    from lifecycle.batch.score import score

    model, _ = served
    result = score(spark, _job(served, table[1], tmp_path / "out", run_id="2026-11-30"))
    assert result.partition.endswith(f"/model_version={model.version}/run_id=2026-11-30")


def test_a_retry_leaves_exactly_one_copy_and_other_runs_stay(spark, served, table, tmp_path):
    from lifecycle.batch.score import score

    out = tmp_path / "out"
    first = score(spark, _job(served, table[1], out))
    retry = score(spark, _job(served, table[1], out))  # same inputs: the same run id
    other = score(spark, _job(served, table[1], out, run_id="another-run"))

    assert retry.run_id == first.run_id
    everything = pd.read_parquet(out)
    counts = everything.groupby("run_id", observed=True).size().to_dict()
    assert counts == {first.run_id: ROWS, "another-run": ROWS}
    assert other.rows == ROWS


def test_a_missing_input_path_is_a_clear_error(spark, served, tmp_path):
    from lifecycle.batch.score import BatchError, score

    model, _ = served
    missing = tmp_path / "nothing-here.parquet"
    with pytest.raises(BatchError) as error:
        score(spark, _job(served, missing, tmp_path / "out"))
    assert f"model {model.name!r}" in str(error.value)
    assert str(missing) in str(error.value)


def test_a_missing_feature_column_is_named(spark, served, table, tmp_path):
    from lifecycle.batch.score import BatchError, score

    frame, _ = table
    path = tmp_path / "short.parquet"
    frame.drop(columns=["feature_2"]).to_parquet(path)
    with pytest.raises(BatchError, match=r"no column 'feature_2'") as error:
        score(spark, _job(served, path, tmp_path / "out"))
    assert str(path) in str(error.value)


def test_a_text_feature_column_is_refused(spark, served, table, tmp_path):
    from lifecycle.batch.score import BatchError, score

    frame, _ = table
    path = tmp_path / "text.parquet"
    frame.assign(feature_0="high").to_parquet(path)
    with pytest.raises(BatchError, match=r"features must be numeric: 'feature_0' is string"):
        score(spark, _job(served, path, tmp_path / "out"))


def test_cli_scores_a_csv_and_reports_the_run(spark, served, table, tmp_path):
    import json

    from mlplat.cli import app

    model, _ = served
    frame, _ = table
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    args = ["batch", "run", model.name, "-s", "dev", "--input", str(path), "--output"]
    result = CliRunner().invoke(app, [*args, str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows"] == ROWS
    assert len(pd.read_parquet(report["partition"])) == ROWS


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no-such-model"], "model 'no-such-model' is not declared in dev"),
        (["{model}", "--input", "/nonexistent/x.parquet"], "/nonexistent/x.parquet"),
        (["{model}", "--format", "avro"], "--format 'avro'"),
    ],
)
def test_cli_bad_input_is_one_error_line_and_exit_2(spark, served, table, tmp_path, argv, message):
    from mlplat.cli import app

    model, _ = served
    argv = [a.format(model=model.name) for a in argv]
    defaults = {"--input": str(table[1]), "--output": str(tmp_path / "out")}
    for option, value in defaults.items():
        if option not in argv:
            argv += [option, value]
    result = CliRunner().invoke(app, ["batch", "run", *argv, "-s", "dev"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.output


def test_cli_without_java_says_what_to_install(monkeypatch, tmp_path):
    from mlplat.cli import app

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr("shutil.which", lambda name: None)
    argv = ["batch", "run", "x", "-s", "dev", "--input", "i", "--output", str(tmp_path)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert "error: Spark needs Java" in result.stderr
    assert "openjdk-17-jre-headless" in result.stderr
