"""The serving pricers' edges on hand-made graphs: endpoint configurations (several endpoints,
serverless variants, scaling targets missing a bound, endpoints known only by id), node groups
(two interchangeable types, spot list prices, sizes left out) and provisioned tables whose
capacity is left out. test_cost_estimate.py has the common cases; these state the basis text in
full and each default. Rates (infra/prices.json, us-east-1): SageMaker hosting ml.m5.large
$0.115/h, EC2 m5.large $0.096/h and m5a.large $0.086/h, DynamoDB $0.00013 per RCU-hour and
$0.00065 per WCU-hour."""

from __future__ import annotations

import pytest

from cost_model.estimate import EstimateError, estimate
from cost_model.graph import Graph
from cost_model.prices import load_snapshot
from tests.cost.cost_exports import export, resource, tags
from tests.cost.pricer_graphs import OPTIONS, price

CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
TARGET = "aws:appautoscaling/target:Target"
NODES = "aws:eks/nodeGroup:NodeGroup"
TABLE = "aws:dynamodb/table:Table"
LARGE = "ml.m5.large × 730 h × $0.115/h"


@pytest.fixture(scope="module", autouse=True)
def _the_rates_worked_here():
    region = load_snapshot().region("us-east-1")
    assert region.sagemaker_hosting_instance_hour["ml.m5.large"] == 0.115
    assert (region.ec2_instance_hour["m5.large"], region.ec2_instance_hour["m5a.large"]) == (
        0.096,
        0.086,
    )
    assert (region.dynamodb.provisioned_rcu_hour, region.dynamodb.provisioned_wcu_hour) == (
        0.00013,
        0.00065,
    )


def _line(result, type_):
    (line,) = [item for item in result.items if item.type == type_]
    return line


def _config(*variants, name="cfg"):
    return resource(CONFIG, name, {"productionVariants": list(variants)}, {"name": f"{name}-x"})


def _variant(count: int) -> dict:
    return {
        "variantName": "AllTraffic",
        "instanceType": "ml.m5.large",
        "initialInstanceCount": count,
    }


def _endpoint(name, config, *, named=True):
    outputs = {"name": name} if named else {}
    return resource(ENDPOINT, name, {"endpointConfigName": config}, outputs)


def _target(endpoint_name, variant="AllTraffic", **bounds):
    inputs = {"resourceId": f"endpoint/{endpoint_name}/variant/{variant}", **bounds}
    return resource(TARGET, f"{endpoint_name}-scaling", inputs)


# --- endpoint configurations ---------------------------------------------------------------------


def test_each_endpoint_using_a_configuration_pays_for_its_instances():
    variant = _variant(2)
    result = price(
        _config(variant),
        _endpoint("blue", "cfg-x"),
        _endpoint("green", "cfg-x"),
        _target("green", minCapacity=1, maxCapacity=3),
    )
    line = _line(result, CONFIG)
    # blue: 2 × 730 × $0.115 = $167.90 (fixed); green: 1 × 730 × $0.115 = $83.95, up to 3: $251.85.
    assert line.monthly == pytest.approx(167.9 + 83.95)
    assert line.max_monthly == pytest.approx(167.9 + 251.85)
    assert line.basis == (
        f"2 × {LARGE} (initialInstanceCount, no scaling target)"
        f" + 1 × {LARGE} (scaling target minimum, up to 3 at maximum)"
    )


def test_an_endpoint_without_a_name_is_known_by_its_id():
    variant = _variant(1)
    endpoint = _endpoint("blue", "cfg-x", named=False)
    line = _line(price(_config(variant), endpoint, _target("blue-id", minCapacity=2)), CONFIG)
    # The target of endpoint/blue-id/... is the endpoint's: 2 × 730 × $0.115 = $167.90.
    assert line.monthly == pytest.approx(167.9)
    assert line.max_monthly == pytest.approx(167.9)  # no maxCapacity: the minimum
    assert line.basis == f"2 × {LARGE} (scaling target minimum, up to 2 at maximum)"


def test_a_scaling_target_without_a_minimum_starts_at_the_initial_count():
    variant = _variant(3)
    line = _line(
        price(_config(variant), _endpoint("blue", "cfg-x"), _target("blue", maxCapacity=5)),
        CONFIG,
    )
    assert (line.monthly, line.max_monthly) == (
        pytest.approx(3 * 83.95),
        pytest.approx(5 * 83.95),
    )
    assert line.basis == f"3 × {LARGE} (scaling target minimum, up to 5 at maximum)"


def test_a_variant_without_an_initial_count_runs_one_instance():
    variant = {"variantName": "AllTraffic", "instanceType": "ml.m5.large"}
    alone = _line(price(_config(variant), _endpoint("blue", "cfg-x")), CONFIG)
    assert (alone.monthly, alone.max_monthly) == (pytest.approx(83.95), pytest.approx(83.95))
    assert alone.basis == f"1 × {LARGE} (initialInstanceCount, no scaling target)"
    scaled = _line(
        price(_config(variant), _endpoint("blue", "cfg-x"), _target("blue", maxCapacity=4)),
        CONFIG,
    )
    assert (scaled.monthly, scaled.max_monthly) == (pytest.approx(83.95), pytest.approx(4 * 83.95))


def test_a_serverless_variant_is_named_and_the_next_variant_still_priced():
    serverless = {"serverlessConfig": {"maxConcurrency": 5, "memorySizeInMb": 2048}}
    variant = {"variantName": "Canary", "instanceType": "ml.m5.large", "initialInstanceCount": 1}
    line = _line(price(_config(serverless, variant), _endpoint("blue", "cfg-x")), CONFIG)
    assert line.monthly == pytest.approx(83.95)
    assert line.basis == (
        "variant : serverless, billed per request, not estimated"
        f" + 1 × {LARGE} (initialInstanceCount, no scaling target)"
    )


def test_an_unknown_hosting_type_is_an_error_naming_it_and_the_region():
    variant = {"variantName": "AllTraffic", "instanceType": "ml.z9.huge"}
    with pytest.raises(EstimateError) as raised:
        price(_config(variant), _endpoint("blue", "cfg-x"))
    assert "no SageMaker hosting price for 'ml.z9.huge' in us-east-1" in str(raised.value)


# --- node groups ---------------------------------------------------------------------------------


def _nodes(**inputs):
    return resource(NODES, "workers", {"tags": tags(), **inputs})


def test_two_interchangeable_types_are_priced_at_the_dearer():
    group = _nodes(instanceTypes=["m5a.large", "m5.large"], scalingConfig={"desiredSize": 1})
    line = _line(price(group), NODES)
    assert line.monthly == pytest.approx(730 * 0.096)
    assert line.basis == (
        "1 × m5.large (on-demand, dearest of m5a.large/m5.large) × 730 h × $0.096/h;"
        " up to 1 nodes at max size"
    )


def test_a_spot_list_price_is_named_in_the_basis():
    snapshot = load_snapshot()
    east = snapshot.regions["us-east-1"].model_copy(
        update={"ec2_spot_instance_hour": {"m5.large": 0.04}}
    )
    spotted = snapshot.model_copy(update={"regions": {**snapshot.regions, "us-east-1": east}})
    group = _nodes(
        instanceTypes=["m5.large"], capacityType="SPOT", scalingConfig={"desiredSize": 2}
    )
    line = _line(price(group, snapshot=spotted), NODES)
    assert line.basis == (
        "2 × m5.large (spot price snapshot) × 730 h × $0.04/h; up to 2 nodes at max size"
    )


def test_a_group_without_sizes_has_no_nodes():
    line = _line(price(_nodes(instanceTypes=["m5.large"], scalingConfig={"maxSize": 3})), NODES)
    assert (line.monthly, line.max_monthly) == (0.0, pytest.approx(3 * 730 * 0.096))
    assert line.basis.startswith("0 × m5.large (on-demand) × 730 h")


def test_an_unknown_node_type_is_an_error_naming_it_and_the_region():
    with pytest.raises(EstimateError) as raised:
        price(_nodes(instanceTypes=["z9.huge"], scalingConfig={"desiredSize": 1}))
    assert "no EC2 on-demand price for 'z9.huge' in us-east-1" in str(raised.value)


# --- provisioned tables --------------------------------------------------------------------------


def test_capacity_left_out_counts_as_none():
    table = resource(
        TABLE,
        "features",
        {
            "billingMode": "PROVISIONED",
            "readCapacity": 10,
            "globalSecondaryIndexes": [{"name": "by-model", "writeCapacity": 4}],
            "tags": tags(),
        },
    )
    line = _line(price(table), TABLE)
    # 10 RCU (the index declares none) × 730 × $0.00013 + 4 WCU (the table declares none)
    # × 730 × $0.00065 = $0.949 + $1.898.
    assert line.monthly == pytest.approx(0.949 + 1.898)
    assert line.basis == (
        "provisioned: 10 × RCU × 730 h × $0.00013/h + 4 × WCU × 730 h × $0.00065/h"
        " (table and indexes)"
    )


def test_the_estimate_is_in_the_snapshots_currency():
    assert price().currency == "USD"


def test_a_resource_in_no_known_region_is_an_error_saying_how_to_give_one():
    key = resource("aws:kms/key:Key", "key", {"tags": tags()})
    document = export(key, region=None)
    with pytest.raises(EstimateError) as raised:
        estimate(Graph.from_export(document), load_snapshot(), OPTIONS)
    assert raised.value.problems == [
        f"{key['urn']}: its provider records no region and no default region was given (--region)"
    ]
