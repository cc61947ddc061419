"""The estimator on hand-computed cases; every expected number is worked out in the comment."""

from __future__ import annotations

import datetime as dt

import pytest
from cost_exports import export, multi_model_endpoint, provider, resource, spot_group, tags

from cost_model.estimate import SHARED, EstimateError, EstimateOptions, estimate
from cost_model.graph import ExportError, Graph
from cost_model.prices import load_snapshot

AS_OF = dt.date(2026, 11, 28)


@pytest.fixture(scope="module")
def snapshot():
    return load_snapshot()


def price(document, snapshot, **options):
    return estimate(Graph.from_export(document), snapshot, EstimateOptions(as_of=AS_OF, **options))


def only(result, type_):
    (item,) = [item for item in result.items if item.type == type_]
    return item


CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


def test_endpoint_priced_at_scaling_minimum_with_range_to_maximum(snapshot):
    models = [{"name": "fraud", "team": "risk", "memoryMb": 1024}]
    document = export(
        *multi_model_endpoint(
            "cpu-mme", "ml.m5.xlarge", models, initial=2, min_capacity=2, max_capacity=4
        )
    )
    item = only(price(document, snapshot), CONFIG)
    # 2 × ml.m5.xlarge × 730 h × $0.23/h = $335.80; at the maximum 4 × 730 × 0.23 = $671.60.
    assert item.monthly == pytest.approx(335.80)
    assert item.max_monthly == pytest.approx(671.60)
    assert item.basis.startswith("2 × ml.m5.xlarge × 730 h × $0.23/h (scaling target minimum")


def test_endpoint_without_scaling_target_uses_initial_count(snapshot):
    document = export(*multi_model_endpoint("gpu-mme", "ml.g5.xlarge", [], initial=1))
    item = only(price(document, snapshot), CONFIG)
    # 1 × 730 × $1.408 = $1,027.84, no range.
    assert item.monthly == item.max_monthly == pytest.approx(1027.84)
    assert "initialInstanceCount, no scaling target" in item.basis


def test_configuration_no_endpoint_uses_costs_nothing(snapshot):
    entries = multi_model_endpoint("orphan", "ml.m5.xlarge", [], initial=3)
    document = export(*[e for e in entries if e["type"] == CONFIG])
    item = only(price(document, snapshot), CONFIG)
    assert item.monthly == 0 and "no endpoint" in item.basis


def test_shared_endpoint_is_split_by_declared_memory(snapshot):
    models = [
        {"name": "fraud", "team": "risk", "memoryMb": 3072},
        {"name": "churn", "team": "growth", "memoryMb": 1024},
    ]
    document = export(
        *multi_model_endpoint("cpu-mme", "ml.m5.xlarge", models, min_capacity=2, max_capacity=4)
    )
    result = price(document, snapshot)
    # $335.80 split 3072:1024 = 75% / 25%: $251.85 and $83.95; at maximum $503.70 and $167.90.
    by_model = result.totals_by("model")
    assert by_model["fraud"].monthly == pytest.approx(251.85)
    assert by_model["churn"].monthly == pytest.approx(83.95)
    assert by_model["churn"].max_monthly == pytest.approx(167.90)
    by_team = result.totals_by("team")
    assert by_team["risk"].monthly == pytest.approx(251.85)
    assert by_team["growth"].monthly == pytest.approx(83.95)
    assert "fraud 75%, churn 25%" in only(result, CONFIG).basis


def test_spot_node_group_at_configured_discount(snapshot):
    item = only(
        price(export(spot_group()), snapshot, spot_discount=0.6), "eks:index:ManagedNodeGroup"
    )
    # Dearest type on demand is $0.096/h (m5.large, m6i.large); 40% of it is $0.0384/h.
    # 2 nodes × 730 h × $0.0384 = $56.064; at max size 5 nodes: $140.16.
    assert item.monthly == pytest.approx(56.064)
    assert item.max_monthly == pytest.approx(140.16)
    assert "less the configured 60% discount" in item.basis
    assert "2 × m6i.large (spot" in item.basis and "× 730 h × $0.0384/h" in item.basis


def test_spot_node_group_from_spot_price_snapshot(snapshot):
    region = snapshot.regions["us-east-1"].model_copy(
        update={"ec2_spot_instance_hour": {"m5.large": 0.035, "m5a.large": 0.03, "m6i.large": 0.04}}
    )
    spotted = snapshot.model_copy(update={"regions": {"us-east-1": region}})
    item = only(price(export(spot_group()), spotted), "eks:index:ManagedNodeGroup")
    # Dearest spot price $0.04/h: 2 × 730 × 0.04 = $58.40.
    assert item.monthly == pytest.approx(58.40)
    assert "spot price snapshot" in item.basis


def test_on_demand_node_group_without_desired_size_uses_min(snapshot):
    group = resource(
        "aws:eks/nodeGroup:NodeGroup",
        "system",
        {"instanceTypes": ["m5.large"], "scalingConfig": {"minSize": 3, "maxSize": 6}},
    )
    item = only(price(export(group), snapshot), "aws:eks/nodeGroup:NodeGroup")
    # 3 × 730 × $0.096 = $210.24; 6 nodes: $420.48.
    assert (item.monthly, item.max_monthly) == (pytest.approx(210.24), pytest.approx(420.48))


def test_on_demand_table_from_declared_request_volumes(snapshot):
    volume = {
        "mlplat:cost:monthly-read-requests": "20000000",
        "mlplat:cost:monthly-write-requests": "4000000",
    }
    table = resource(
        "aws:dynamodb/table:Table",
        "predictions",
        {"billingMode": "PAY_PER_REQUEST", "tags": {**tags(), **volume}},
    )
    item = only(price(export(table), snapshot), "aws:dynamodb/table:Table")
    # 20 M reads × $0.125/M + 4 M writes × $0.625/M = $2.50 + $2.50 = $5.00.
    assert item.monthly == pytest.approx(5.00)


def test_on_demand_table_without_declared_volume_is_zero_and_says_so(snapshot):
    table = resource("aws:dynamodb/table:Table", "registry", {"billingMode": "PAY_PER_REQUEST"})
    item = only(price(export(table), snapshot), "aws:dynamodb/table:Table")
    assert item.monthly == 0 and "no request volume declared" in item.basis


def test_provisioned_table_counts_index_capacity(snapshot):
    table = resource(
        "aws:dynamodb/table:Table",
        "features",
        {
            "billingMode": "PROVISIONED",
            "readCapacity": 10,
            "writeCapacity": 5,
            "globalSecondaryIndexes": [{"name": "by-model", "readCapacity": 5, "writeCapacity": 5}],
        },
    )
    item = only(price(export(table), snapshot), "aws:dynamodb/table:Table")
    # 15 RCU × 730 × $0.00013 = $1.4235; 10 WCU × 730 × $0.00065 = $4.745; total $6.1685.
    assert item.monthly == pytest.approx(6.1685)


@pytest.mark.parametrize(
    ("version", "support_type", "expected"),
    [
        ("1.34", None, 73.0),  # standard until 2026-12-02: 730 × $0.10
        ("1.31", None, 438.0),  # standard ended 2025-11-26: 730 × $0.60
        ("1.31", "STANDARD", 73.0),  # auto-upgraded at the end of standard support
    ],
)
def test_cluster_standard_versus_extended_support(snapshot, version, support_type, expected):
    inputs = {"version": version}
    if support_type:
        inputs["upgradePolicy"] = {"supportType": support_type}
    item = only(
        price(export(resource("aws:eks/cluster:Cluster", "cluster", inputs)), snapshot),
        "aws:eks/cluster:Cluster",
    )
    assert item.monthly == pytest.approx(expected)


def test_offline_cluster_prices_pulumi_eks_default_node_group_unless_skipped(snapshot):
    with_default = resource("eks:index:Cluster", "cluster", {"version": "1.34"}, custom=False)
    skipped = resource(
        "eks:index:Cluster", "lean", {"version": "1.34", "skipDefaultNodeGroup": True}, custom=False
    )
    result = price(export(with_default, skipped), snapshot)
    monthly = {item.urn.rsplit("::", 1)[-1]: item.monthly for item in result.items}
    # $73 control plane + 2 × t2.medium × 730 × $0.0464 = $67.744.
    assert monthly == {"cluster": pytest.approx(140.744), "lean": pytest.approx(73.0)}


def test_pulumi_eks_components_are_not_counted_twice_under_the_real_engine(snapshot):
    cluster = resource("eks:index:Cluster", "cluster", {"version": "1.34"}, custom=False)
    control_plane = resource(
        "aws:eks/cluster:Cluster", "cluster-eksCluster", {"version": "1.34"}, parent=cluster["urn"]
    )
    group = resource("eks:index:ManagedNodeGroup", "system", {}, custom=False)
    nodes = resource(
        "aws:eks/nodeGroup:NodeGroup",
        "system-nodes",
        {"instanceTypes": ["m5.large"], "scalingConfig": {"desiredSize": 1, "maxSize": 1}},
        parent=group["urn"],
    )
    result = price(export(cluster, control_plane, group, nodes), snapshot)
    assert sorted(item.type for item in result.items) == [
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
    ]
    # $73 control plane + 1 × 730 × $0.096 = $70.08.
    assert result.total.monthly == pytest.approx(143.08)


def test_fixed_monthly_resources(snapshot):
    eu = provider("eu", region="eu-west-1")
    document = export(
        eu,
        resource("aws:ec2/natGateway:NatGateway", "nat-a", {"connectivityType": "public"}),
        resource("aws:ec2/natGateway:NatGateway", "nat-eu", {}, provider_entry=eu),
        resource("aws:kms/key:Key", "platform-key", {"enableKeyRotation": True}),
        resource("aws:cloudwatch/dashboard:Dashboard", "overview", {"dashboardName": "dev"}),
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", "errors", {"period": 60}),
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", "fast", {"period": 10}),
        resource(
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            "ratio",
            {
                "metricQueries": [
                    {"id": "hits", "metric": {"metricName": "ModelCacheHit", "period": 300}},
                    {"id": "all", "metric": {"metricName": "Invocations", "period": 300}},
                    {"id": "ratio", "expression": "hits / all", "returnData": True},
                ]
            },
        ),
        resource(
            "aws:s3/bucket:Bucket",
            "artifacts",
            {"tags": {"mlplat:cost:expected-storage-gb": "100"}},
        ),
        resource("aws:s3/bucketV2:BucketV2", "capture", {}),
    )
    monthly = {
        i.urn.rsplit("::", 1)[-1]: round(i.monthly, 4) for i in price(document, snapshot).items
    }
    assert monthly == {
        "nat-a": 32.85,  # 730 × $0.045
        "nat-eu": 35.04,  # 730 × $0.048 in eu-west-1, through the explicit provider
        "platform-key": 1.0,
        "overview": 3.0,
        "errors": 0.1,
        "fast": 0.3,  # high resolution
        "ratio": 0.2,  # two metrics, the expression is free
        "artifacts": 2.3,  # 100 GB × $0.023
        "capture": 0.0,
    }


def test_attribution_and_totals_add_up(snapshot):
    document = export(
        resource("aws:kms/key:Key", "risk-key", {"tags": tags(team="risk", model="fraud")}),
        resource("aws:kms/key:Key", "platform-key", {"tags": tags()}),
        resource("aws:kms/key:Key", "prod-key", {"tags": tags("prod")}),
    )
    result = price(document, snapshot)
    assert result.total.monthly == pytest.approx(3.0)
    assert {k: v.monthly for k, v in result.totals_by("team").items()} == {SHARED: 2.0, "risk": 1.0}
    assert {k: v.monthly for k, v in result.totals_by("model").items()} == {
        SHARED: 2.0,
        "fraud": 1.0,
    }
    assert {k: v.monthly for k, v in result.totals_by("environment").items()} == {
        "dev": 2.0,
        "prod": 1.0,
    }


def test_every_unpriceable_resource_is_reported_at_once(snapshot):
    document = export(
        *multi_model_endpoint("odd", "ml.x99.huge", [], initial=1),
        resource("aws:eks/nodeGroup:NodeGroup", "gpu", {"instanceTypes": ["z9.metal"]}),
    )
    with pytest.raises(EstimateError) as error:
        price(document, snapshot)
    assert len(error.value.problems) == 2
    assert "'ml.x99.huge'" in str(error.value) and "'z9.metal'" in str(error.value)


def test_region_must_be_known(snapshot):
    document = export(resource("aws:kms/key:Key", "k", {}), region=None)
    with pytest.raises(EstimateError, match="no default region"):
        price(document, snapshot)
    # The stack's configured region fills in.
    assert price(document, snapshot, default_region="eu-west-1").items[0].region == "eu-west-1"
    with pytest.raises(EstimateError, match="no prices for region 'ap-south-2'"):
        price(document, snapshot, default_region="ap-south-2")


def test_rejects_documents_that_are_not_version_3_exports():
    with pytest.raises(ExportError, match="version 3"):
        Graph.from_export({"version": 2, "deployment": {"resources": []}})
    with pytest.raises(ExportError, match="resources"):
        Graph.from_export({"version": 3, "deployment": {}})
