"""The events table as a batch input: the sink's layout (``<model>/events/yyyy/MM/dd/HH/*.jsonl``)
read on local Spark, each event one row of its features, scored as the model scores them."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from lifecycle.events import encode, prediction_event
from tests.lifecycle.test_batch_score import _job, pandas_model, served, spark  # noqa: F401

EVENTS = 40


@pytest.fixture(scope="module")
def events(served, pandas_model, tmp_path_factory):  # noqa: F811
    """Events of the served model over two hours, plus another model's, as the sink writes."""
    model, _ = served
    width = pandas_model.metadata.get_input_schema().inputs[0].shape[1]
    rng = np.random.default_rng(7)
    root = tmp_path_factory.mktemp("events") / model.name
    rows = []
    for index in range(EVENTS):
        features = {f"feature_{i}": float(v) for i, v in enumerate(rng.normal(size=width))}
        hour = 16 + index % 2
        folder = root / "events" / "2026" / "11" / "30" / f"{hour}"
        folder.mkdir(parents=True, exist_ok=True)
        event = prediction_event(
            model=model.name,
            version=model.version,
            inference_id=f"inf-{index}",
            features=features,
            output=0,
            time=datetime(2026, 11, 30, hour, tzinfo=UTC),
        )
        with (folder / "part-1.jsonl").open("ab") as handle:
            handle.write(encode(event)[1] + b"\n")
        rows.append({"inference_id": f"inf-{index}", **features})
    other = prediction_event(
        model="another-model", version=1, inference_id="x", features={"a": 1.0}, output=0
    )
    (root / "events" / "2026" / "11" / "30" / "16" / "part-2.jsonl").write_bytes(
        encode(other)[1] + b"\n"
    )
    return pd.DataFrame(rows), root


def test_the_events_of_the_model_are_scored_as_its_pandas_predictions(
    spark,  # noqa: F811
    served,  # noqa: F811
    pandas_model,  # noqa: F811
    events,
    tmp_path,
):
    from lifecycle.batch.score import INFERENCE_ID, PREDICTION, score

    frame, root = events
    result = score(spark, _job(served, root, tmp_path / "out", input_format="json"))
    scored = pd.read_parquet(result.partition).sort_values(INFERENCE_ID).reset_index(drop=True)
    expected_frame = frame.sort_values("inference_id").reset_index(drop=True)
    features = [c for c in expected_frame.columns if c != "inference_id"]
    expected = pandas_model.predict(expected_frame[features].to_numpy())
    assert result.rows == EVENTS  # the other model's event is not scored
    assert scored[INFERENCE_ID].tolist() == expected_frame["inference_id"].tolist()
    np.testing.assert_array_equal(scored[PREDICTION].to_numpy(), np.asarray(expected))


def test_an_events_table_without_the_models_events_is_a_clear_error(
    spark,  # noqa: F811
    served,  # noqa: F811
    tmp_path,
):
    from lifecycle.batch.score import BatchError, score

    folder = tmp_path / "events" / "2026" / "11" / "30" / "16"
    folder.mkdir(parents=True)
    other = prediction_event(
        model="another", version=1, inference_id="x", features={"a": 1}, output=0
    )
    (folder / "p.jsonl").write_bytes(encode(other)[1] + b"\n")
    with pytest.raises(BatchError, match="no prediction events of it"):
        score(spark, _job(served, tmp_path / "events", tmp_path / "out", input_format="json"))
