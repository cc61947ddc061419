"""`mlplat cost` prices the prediction events' Firehose sink on each publishing model's line, from
its declared volume (cost_model/events.py): the arithmetic recomputed here by hand from the
snapshot's rates, the edges of the object count, and the sink's configuration the pricer assumes
held against what the stacks really declare."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from cost_model import events
from cost_model.estimate import EstimateError, EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import load_snapshot
from cost_model.unpriced import Kind
from infra.loader import load_environment, read_stack_config
from tests.cost.cost_exports import export, resource

AS_OF = dt.date(2026, 11, 28)
GIB = 2**30


def _model(monthly_events: int | None, event_bytes: int = 1023, name: str = "ranker"):
    declared = (
        {"topic": "mlplat.dev.predictions.growth", "monthlyEvents": monthly_events}
        | {"eventBytes": event_bytes}
        if monthly_events
        else None
    )
    outputs = {"model": name, "team": "growth", "predictionEvents": declared}
    return resource("mlplat:eks_model:EksModel", name, outputs=outputs, custom=False)


def _lines(*resources, snapshot=None):
    estimated = estimate(
        Graph.from_export(export(*resources)),
        snapshot or load_snapshot(),
        EstimateOptions(as_of=AS_OF),
    )
    return [item for item in estimated.items if item.type == "mlplat:eks_model:EksModel"]


def test_a_publishing_model_pays_ingestion_partitioning_and_objects_for_its_events():
    rates = load_snapshot().region("us-east-1").firehose
    # 2^20 events of 1,023 bytes + the newline the sink appends: exactly 1 GB (MSK-source
    # ingestion bills the higher of bytes ingested and delivered: the newline is billed).
    (line,) = _lines(_model(2**20, event_bytes=1023))
    objects = 730 * 3600 // 300  # one per 300 s buffer all month; 1 GB never fills 64 MB first
    by_hand = (
        rates.msk_ingestion_gb
        + rates.dynamic_partitioning_gb
        + objects / 1000 * rates.dynamic_partitioning_per_1000_objects
    )
    assert line.monthly == line.max_monthly == pytest.approx(by_hand)
    assert [(s.model, s.team, s.fraction) for s in line.shares] == [("ranker", "growth", 1.0)]
    assert "1.00 GB" in line.basis and "8,760 objects" in line.basis
    assert "JQ processing hours" in line.basis  # what is not estimated is said


@pytest.mark.parametrize(
    ("monthly_events", "event_bytes", "objects"),
    [
        (100, 1023, 100),  # fewer events than buffer flushes: at most one object per event
        (8760, 1023, 8760),
        (2**30, 1023, 1024 * 1024 // 64 + 1),  # 1 TB: the 64 MB buffer fills before 300 s
    ],
)
def test_objects_are_flushes_or_buffers_filled_but_never_more_than_events(
    monthly_events, event_bytes, objects
):
    gigabytes = monthly_events * (event_bytes + 1) / GIB
    assert events.objects_per_month(monthly_events, gigabytes) == objects


def test_the_basis_says_the_volume_is_declared_and_what_is_not_estimated():
    rates = load_snapshot().region("us-east-1").firehose
    (line,) = _lines(_model(1000))
    assert line.basis.endswith(
        f"(declared volume; JQ processing hours at ${rates.jq_processing_hour:g}/h not estimated)"
    )


def test_a_component_that_names_no_model_is_charged_to_no_model():
    component = _model(1000)
    del component["outputs"]["model"]
    (line,) = _lines(component)
    assert line.shares == () and line.model is None


def test_a_model_that_publishes_nothing_has_no_events_line():
    assert _lines(_model(None)) == []


def test_a_region_without_firehose_rates_is_an_error_naming_them():
    snapshot = load_snapshot()
    regions = {
        name: region.model_copy(update={"firehose": None})
        for name, region in snapshot.regions.items()
    }
    with pytest.raises(EstimateError, match="no Firehose prices for us-east-1"):
        _lines(_model(1000), snapshot=snapshot.model_copy(update={"regions": regions}))


@pytest.fixture(scope="module")
def staging():
    from tests.conftest import _preview  # the session's cached offline export

    return json.loads(json.dumps(_preview("staging")))


def test_each_publishing_model_of_staging_has_its_line_and_the_streams_are_accounted(staging):
    spec = load_environment("staging", read_stack_config("staging"))
    publishing = {m.name: m for m in spec.models if m.serving == "eks" and m.events}
    assert publishing
    estimated = estimate(Graph.from_export(staging), load_snapshot(), EstimateOptions(as_of=AS_OF))
    lines = {
        item.shares[0].model: item
        for item in estimated.items
        if item.type == "mlplat:eks_model:EksModel"
    }
    assert set(lines) == set(publishing)
    for name, model in publishing.items():
        assert f"{model.events.monthly_events:,} events/month" in lines[name].basis
        assert lines[name].monthly > 0
    (streams,) = [
        u for u in estimated.unpriced if u.type.startswith("aws:kinesis/firehoseDeliveryStream")
    ]
    assert streams.kind is Kind.ELSEWHERE and streams.count == len(spec.teams)


def test_the_sink_is_configured_as_the_pricer_assumes(staging):
    """Buffers, the appended newline, dynamic partitioning, no format conversion and an S3
    destination: what cost_model/events.py prices; a sink changed otherwise fails here."""
    streams = [
        r
        for r in staging["deployment"]["resources"]
        if r["type"] == "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
    ]
    assert streams
    for stream in streams:
        inputs = stream["inputs"]
        s3 = inputs["extendedS3Configuration"]
        assert inputs["destination"] == "extended_s3" and "mskSourceConfiguration" in inputs
        assert s3["bufferingInterval"] == events.BUFFER_SECONDS
        assert s3["bufferingSize"] == events.BUFFER_MB
        assert s3["dynamicPartitioningConfiguration"]["enabled"] is True
        assert not s3.get("dataFormatConversionConfiguration")
        processors = {p["type"]: p for p in s3["processingConfiguration"]["processors"]}
        (delimiter,) = processors["AppendDelimiterToRecord"]["parameters"]
        assert len(delimiter["parameterValue"].encode().decode("unicode_escape")) == (
            events.DELIMITER_BYTES
        )


def test_the_readmes_events_figure_is_the_estimate(staging):
    """The README's "What the events cost" example, recomputed (documentation that cannot drift)."""
    from infra.project import PROJECT_ROOT

    text = (PROJECT_ROOT / "README.md").read_text()
    match = re.search(
        r"(\S+)'s declared ([\d.]+) million events a month are \$([\d.]+) in staging", text
    )
    assert match, "the README's events example is missing"
    name, millions, dollars = match[1], float(match[2]), float(match[3])
    spec = load_environment("staging", read_stack_config("staging"))
    model = next(m for m in spec.models if m.name == name)
    assert model.events.monthly_events == millions * 1_000_000
    estimated = estimate(Graph.from_export(staging), load_snapshot(), EstimateOptions(as_of=AS_OF))
    (line,) = [
        i for i in estimated.items if i.type == events.EKS_MODEL and i.shares[0].model == name
    ]
    assert round(line.monthly, 2) == dollars
