"""The price snapshot: its shipped content, schema validation and clear lookup errors."""

from __future__ import annotations

import copy
import json

import pytest

from cost_model.prices import (
    DEFAULT_SNAPSHOT,
    PriceLookupError,
    SnapshotError,
    dump_snapshot,
    load_snapshot,
)

SUPPORTED_REGIONS = {"us-east-1", "us-west-2", "eu-west-1"}


@pytest.fixture()
def raw():
    return json.loads(DEFAULT_SNAPSHOT.read_text())


def write(tmp_path, document):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(document))
    return path


def test_shipped_snapshot_covers_supported_regions_and_states_its_origin():
    snapshot = load_snapshot()
    assert set(snapshot.regions) >= SUPPORTED_REGIONS
    assert snapshot.currency == "USD"
    assert "price pages" in snapshot.source and "mlplat prices refresh" in snapshot.source
    for region in snapshot.regions.values():
        assert all(name.startswith("ml.") for name in region.sagemaker_hosting_instance_hour)
        assert not any(name.startswith("ml.") for name in region.ec2_instance_hour)
        assert region.eks.extended_support_cluster_hour > region.eks.standard_cluster_hour


def test_missing_field_is_named_with_its_path(tmp_path, raw):
    del raw["regions"]["eu-west-1"]["eks"]
    with pytest.raises(SnapshotError, match=r"regions\.eu-west-1\.eks: Field required"):
        load_snapshot(write(tmp_path, raw))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["regions"]["us-east-1"]["ec2_instance_hour"].update({"m5.large": -1}),
            "greater",
        ),
        (lambda d: d.update(currency="EUR"), "currency"),
        (lambda d: d.update(retrieved="last tuesday"), "retrieved"),
        (lambda d: d["regions"]["us-east-1"].update(spare_parts=1), "spare_parts"),
        (lambda d: d.update(regions={}), "regions"),
    ],
)
def test_invalid_snapshots_are_rejected(tmp_path, raw, change, message):
    document = copy.deepcopy(raw)
    change(document)
    with pytest.raises(SnapshotError, match=message):
        load_snapshot(write(tmp_path, document))


def test_unreadable_snapshots(tmp_path):
    with pytest.raises(SnapshotError, match="does not exist"):
        load_snapshot(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(SnapshotError, match="not JSON"):
        load_snapshot(broken)


def test_unknown_region_and_instance_type_say_what_exists_and_how_to_fix():
    snapshot = load_snapshot()
    with pytest.raises(PriceLookupError, match=r"'ap-south-2'.*eu-west-1, us-east-1, us-west-2"):
        snapshot.region("ap-south-2")
    region = snapshot.region("us-east-1")
    with pytest.raises(
        PriceLookupError, match=r"SageMaker hosting price for 'ml.x99.huge' in us-east-1"
    ):
        region.sagemaker_hour("ml.x99.huge", "us-east-1")
    with pytest.raises(PriceLookupError, match="mlplat prices refresh"):
        region.ec2_hour("z9.metal", "us-east-1")
    assert region.sagemaker_hour("ml.m5.xlarge", "us-east-1") == 0.23


def test_dump_round_trips_and_is_deterministic(tmp_path):
    snapshot = load_snapshot()
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    dump_snapshot(snapshot, first)
    dump_snapshot(snapshot, second)
    assert load_snapshot(first) == snapshot
    assert first.read_bytes() == second.read_bytes() == DEFAULT_SNAPSHOT.read_bytes()
    assert list(json.loads(first.read_text()))[:3] == ["source", "retrieved", "currency"]


@pytest.mark.parametrize(
    ("lookup", "what", "table"),
    [
        (lambda r: r.ec2_hour, "EC2 on-demand", lambda r: r.ec2_instance_hour),
        (lambda r: r.msk.broker, "MSK broker", lambda r: r.msk.broker_hour),
        (
            lambda r: r.sagemaker_hour,
            "SageMaker hosting",
            lambda r: r.sagemaker_hosting_instance_hour,
        ),
    ],
)
def test_a_missing_instance_type_names_its_table_region_the_known_types_and_the_fix(
    lookup, what, table
):
    region = load_snapshot().region("eu-west-1")
    known = sorted(table(region))
    assert lookup(region)(known[0], "eu-west-1") == table(region)[known[0]]
    with pytest.raises(PriceLookupError) as error:
        lookup(region)("x9.none", "eu-west-1")
    assert str(error.value) == (
        f"no {what} price for 'x9.none' in eu-west-1 in the price snapshot; "
        f"known types: {', '.join(known)}. "
        "Add it with `mlplat prices refresh --instance-types ...`."
    )


def test_an_empty_price_table_says_it_knows_none():
    region = load_snapshot().region("us-east-1").model_copy(update={"ec2_instance_hour": {}})
    with pytest.raises(
        PriceLookupError, match=r"in us-east-1 in the price snapshot; known types: none\. Add"
    ):
        region.ec2_hour("m5.large", "us-east-1")


def test_every_schema_problem_of_a_snapshot_is_named_in_one_message(tmp_path, raw):
    del raw["regions"]["eu-west-1"]["eks"]
    raw["currency"] = "EUR"
    with pytest.raises(SnapshotError) as error:
        load_snapshot(write(tmp_path, raw))
    problems = str(error.value).split(" is invalid: ", 1)[1].split("; ")
    assert any(p.startswith("currency: ") for p in problems)
    assert "regions.eu-west-1.eks: Field required" in problems
