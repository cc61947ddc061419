"""Each line item's basis shows the arithmetic of its figure, for every kind of priced resource;
node groups take their instance type from the launch template they name; a configuration is
priced by the endpoints that use it, found by name or by dependency.

Prices are the committed snapshot's (infra/prices.json, us-east-1); each expectation's
arithmetic is in its comment, so a wrong figure, bound or explanation fails here.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cost_exports import export, multi_model_endpoint, resource

from cost_model.estimate import SHARED, Estimate, EstimateError, Share, _rate, estimate
from cost_model.estimate import EstimateOptions as Options
from cost_model.graph import Graph
from cost_model.prices import load_snapshot

AS_OF = dt.date(2026, 11, 28)
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


@pytest.fixture(scope="module")
def snapshot():
    return load_snapshot()


def items(snapshot, *entries):
    result = estimate(Graph.from_export(export(*entries)), snapshot, Options(as_of=AS_OF))
    return {item.urn.rsplit("::", 1)[-1]: item for item in result.items}


def template(name="gpu-lt", instance_type="g5.xlarge"):
    # id "lt-id" (the export helper's id is the resource name + "-id")
    return resource(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "lt",
        {"name": name, "instanceType": instance_type},
    )


def group(name, launch_template, scaling):
    return resource(NODE_GROUP, name, {"launchTemplate": launch_template, "scalingConfig": scaling})


def test_a_node_group_without_instance_types_uses_its_launch_templates_type(snapshot):
    priced = items(
        snapshot,
        template(),
        group("by-name", {"name": "gpu-lt", "version": "1"}, {"desiredSize": 1, "maxSize": 3}),
        group("by-id", {"id": "lt-id"}, {"desiredSize": 2, "minSize": 0, "maxSize": 2}),
        group("unknown", {"id": "lt-other"}, {"desiredSize": 1, "maxSize": 1}),
        resource(NODE_GROUP, "none", {"scalingConfig": {"desiredSize": 1, "maxSize": 1}}),
    )
    # g5.xlarge $1.006/h: 1 × 730 × 1.006 = $734.38, 3 at max = $2,203.14
    assert (priced["by-name"].monthly, priced["by-name"].max_monthly) == (
        pytest.approx(734.38),
        pytest.approx(2203.14),
    )
    assert priced["by-name"].basis == (
        "1 × g5.xlarge (on-demand) × 730 h × $1.006/h; up to 3 nodes at max size"
    )
    # by id: 2 × 730 × 1.006 = $1,468.76
    assert priced["by-id"].monthly == pytest.approx(1468.76)
    assert priced["by-id"].basis.startswith("2 × g5.xlarge (on-demand)")
    # a template not in the graph, or none: EKS's default t3.medium, 730 × $0.0416 = $30.368
    for name in ("unknown", "none"):
        assert priced[name].monthly == pytest.approx(30.368)
        assert priced[name].basis == (
            "1 × t3.medium (on-demand) × 730 h × $0.0416/h; up to 1 nodes at max size"
        )


def test_a_template_matched_by_its_id_property_as_well_as_its_resource_id(snapshot):
    named = resource(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "lt2",
        {"id": "lt-0abc", "instanceType": "m5.large"},
    )
    priced = items(snapshot, named, group("g", {"id": "lt-0abc"}, {"desiredSize": 1}))
    assert priced["g"].monthly == pytest.approx(730 * 0.096)  # m5.large $0.096/h


def test_a_shared_endpoints_basis_shows_its_bounds_and_the_memory_split(snapshot):
    models = [{"name": "a", "team": "t1", "memoryMb": 3072}, {"name": "b", "memoryMb": 1024}]
    priced = items(
        snapshot,
        *multi_model_endpoint(
            "mme", "ml.m5.xlarge", models, initial=2, min_capacity=2, max_capacity=4
        ),
    )
    item = priced["mme-config"]
    # 2 × 730 × $0.23 = $335.80; 4 at max = $671.60; memory 3072:1024 = 75%:25%
    assert (item.monthly, item.max_monthly) == (pytest.approx(335.8), pytest.approx(671.6))
    assert item.basis == (
        "2 × ml.m5.xlarge × 730 h × $0.23/h (scaling target minimum, up to 4 at maximum); "
        "split by declared model memory: a 75%, b 25%"
    )
    assert item.shares == (Share("a", "t1", 0.75), Share("b", None, 0.25))
    assert item.team is None and item.model is None  # attributed through the shares only


@pytest.mark.parametrize("link", ["name", "dependency"])
def test_a_configuration_is_priced_by_an_endpoint_linked_by_name_or_by_dependency(snapshot, link):
    component, config, endpoint = multi_model_endpoint("mme", "ml.m5.xlarge", [], initial=1)
    if link == "name":
        endpoint["dependencies"] = []
    else:
        endpoint["inputs"]["endpointConfigName"] = "something-else"
    item = items(snapshot, component, config, endpoint)["mme-config"]
    assert item.monthly == pytest.approx(730 * 0.23)  # 1 × ml.m5.xlarge
    assert (
        item.basis == "1 × ml.m5.xlarge × 730 h × $0.23/h (initialInstanceCount, no scaling target)"
    )


def test_an_unlinked_endpoint_does_not_price_a_configuration(snapshot):
    component, config, endpoint = multi_model_endpoint("mme", "ml.m5.xlarge", [], initial=1)
    endpoint["dependencies"] = []
    endpoint["inputs"]["endpointConfigName"] = "something-else"
    item = items(snapshot, component, config, endpoint)["mme-config"]
    assert (item.monthly, item.max_monthly) == (0, 0)
    assert item.basis == "no endpoint in the graph uses this configuration: no instances"


def test_every_fixed_price_resource_explains_its_figure(snapshot):
    priced = items(
        snapshot,
        resource(
            "aws:dynamodb/table:Table",
            "prov",
            {"billingMode": "PROVISIONED", "readCapacity": 5, "writeCapacity": 2},
        ),
        resource(
            "aws:dynamodb/table:Table",
            "od",
            {
                "billingMode": "pay_per_request",  # AWS's value, in any case
                "tags": {"mlplat:cost:monthly-read-requests": "2000000"},
            },
        ),
        resource("aws:ec2/natGateway:NatGateway", "nat", {}),
        resource("aws:kms/key:Key", "key", {}),
        resource("aws:cloudwatch/dashboard:Dashboard", "dash", {}),
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm", {"period": 60}),
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", "fast", {"period": 10}),
        resource(
            "aws:s3/bucket:Bucket", "bucket", {"tags": {"mlplat:cost:expected-storage-gb": "100"}}
        ),
        resource("aws:eks/cluster:Cluster", "cluster", {"version": "1.33"}),
    )
    expected = {
        # 5 × 730 × $0.00013 + 2 × 730 × $0.00065 = 0.4745 + 0.949
        "prov": (
            1.4235,
            "provisioned: 5 × RCU × 730 h × $0.00013/h + 2 × WCU × 730 h × $0.00065/h "
            "(table and indexes)",
        ),
        # 2M reads × $0.125/M, no writes declared
        "od": (
            0.25,
            "on-demand: 2M reads × $0.125/M + 0M writes × $0.625/M (declared volumes from tags)",
        ),
        "nat": (32.85, "1 × NAT gateway × 730 h × $0.045/h (data processing not estimated)"),
        "key": (1.0, "1 customer managed key × $1/month"),
        "dash": (3.0, "1 dashboard × $3/month"),
        "alarm": (0.1, "1 standard alarm metric × $0.1/month"),
        "fast": (0.3, "1 high-resolution alarm metric × $0.3/month"),
        "bucket": (2.3, "100 GB × $0.023/GB-month (S3 Standard)"),
        # 1.33's standard support ended 2026-07-29 (infra/eks_support.py): 730 × $0.60
        "cluster": (
            438.0,
            "control plane 1 × cluster × 730 h × $0.6/h "
            "(1.33 standard support ended 2026-07-29: extended support)",
        ),
    }
    for name, (monthly, basis) in expected.items():
        assert priced[name].monthly == pytest.approx(monthly), name
        assert priced[name].max_monthly == pytest.approx(monthly), name
        assert priced[name].basis == basis, name


@pytest.mark.parametrize(
    ("declared", "monthly", "basis"),
    [
        ("0", 0.0, "0 GB × $0.023/GB-month (S3 Standard)"),  # zero is a volume, not "undeclared"
        ("0.5", 0.0115, "0.5 GB × $0.023/GB-month (S3 Standard)"),
        ("100", 2.3, "100 GB × $0.023/GB-month (S3 Standard)"),
    ],
)
def test_any_non_negative_declared_volume_is_priced(snapshot, declared, monthly, basis):
    tag = {"mlplat:cost:expected-storage-gb": declared}
    item = items(snapshot, resource("aws:s3/bucket:Bucket", "b", {"tags": tag}))["b"]
    assert (item.monthly, item.max_monthly, item.basis) == (
        pytest.approx(monthly),
        pytest.approx(monthly),
        basis,
    )


@pytest.mark.parametrize("declared", ["-1", "-0.001", "lots", ""])
def test_a_declared_volume_that_is_not_a_non_negative_number_is_refused(snapshot, declared):
    tag = {"mlplat:cost:expected-storage-gb": declared}
    with pytest.raises(EstimateError) as caught:
        items(snapshot, resource("aws:s3/bucket:Bucket", "b", {"tags": tag}))
    assert str(caught.value) == (
        "cannot estimate:\n  - urn:pulumi:dev::mlplat::aws:s3/bucket:Bucket::b: "
        f"tag mlplat:cost:expected-storage-gb={declared!r} is not a non-negative number"
    )


def test_every_problem_is_listed_on_its_own_line():
    error = EstimateError(["first problem", "second problem"])
    assert str(error) == "cannot estimate:\n  - first problem\n  - second problem"
    assert error.problems == ["first problem", "second problem"]


@pytest.mark.parametrize("discount", [0, 0.6, 0.999])
def test_a_spot_discount_from_zero_up_to_but_excluding_one_is_accepted(discount):
    assert Options(spot_discount=discount).spot_discount == discount


@pytest.mark.parametrize("discount", [-0.1, 1, 1.5])
def test_a_spot_discount_outside_zero_to_one_is_refused(discount):
    with pytest.raises(ValueError, match=rf"spot_discount must be in \[0, 1\), got {discount}"):
        Options(spot_discount=discount)


def test_unit_prices_are_written_in_full_without_exponents():
    assert [_rate(v) for v in (10, 73.0, 0.00065, 0.192 * 0.4, 1e-7)] == [
        "$10",
        "$73",
        "$0.00065",
        "$0.0768",
        "$0.0000001",
    ]


def test_totals_add_every_items_low_and_high_share_over_the_items_given(snapshot):
    def team_nodes(name, max_size):
        inputs = {
            "instanceTypes": ["m5.large"],
            "scalingConfig": {"desiredSize": 1, "maxSize": max_size},
            "tags": {"mlplat:team": "t"},
        }
        return resource(NODE_GROUP, name, inputs)

    priced = items(
        snapshot, team_nodes("a", 2), team_nodes("b", 3), resource("aws:kms/key:Key", "k", {})
    )
    result = Estimate(tuple(priced.values()))
    hour = 730 * 0.096  # one m5.large node for a month
    totals = result.totals_by("team")
    assert totals["t"].monthly == pytest.approx(2 * hour)
    assert totals["t"].max_monthly == pytest.approx(5 * hour)  # 2 + 3 nodes at max
    assert totals[SHARED].monthly == pytest.approx(1.0)
    only_a = result.totals_by("team", [priced["a"]])
    assert set(only_a) == {"t"} and only_a["t"].max_monthly == pytest.approx(2 * hour)


def test_a_shared_resource_is_attributed_through_its_shares_even_when_tagged(snapshot):
    models = [
        {"name": "a", "team": "t1", "memoryMb": 1},
        {"name": "b", "team": "t2", "memoryMb": 1},
    ]
    entries = multi_model_endpoint("mme", "ml.m5.xlarge", models, initial=1)
    entries[1]["inputs"]["tags"] |= {"mlplat:team": "platform", "mlplat:model": "mme"}
    item = items(snapshot, *entries)["mme-config"]
    assert (item.team, item.model) == (None, None)
    assert item.allocations("team") == [("t1", 0.5), ("t2", 0.5)]


TWO_MODELS = [
    {"name": "a", "team": "t1", "memoryMb": 3},
    {"name": "b", "team": "t2", "memoryMb": 1},
]


def _endpoint_entries(**component_outputs):
    component, config, endpoint = multi_model_endpoint("mme", "ml.m5.xlarge", TWO_MODELS)
    component["outputs"] |= component_outputs
    return component, config, endpoint


def test_the_component_is_found_by_the_endpoint_it_names_even_when_not_an_ancestor(snapshot):
    component, config, endpoint = _endpoint_entries()
    stack = component["parent"]
    config["parent"] = endpoint["parent"] = stack  # e.g. the endpoint moved out of the component
    item = items(snapshot, component, config, endpoint)["mme-config"]
    assert [(s.model, s.fraction) for s in item.shares] == [("a", 0.75), ("b", 0.25)]


def test_the_component_is_found_as_an_ancestor_when_it_names_no_endpoint(snapshot):
    component, config, endpoint = _endpoint_entries(endpointName=None)
    item = items(snapshot, component, config, endpoint)["mme-config"]
    assert [(s.model, s.team, s.fraction) for s in item.shares] == [
        ("a", "t1", 0.75),
        ("b", "t2", 0.25),
    ]


def test_a_configuration_outside_any_shared_endpoint_is_not_split(snapshot):
    component, config, endpoint = _endpoint_entries(endpointName="another-endpoint")
    config["parent"] = endpoint["parent"] = component["parent"]
    item = items(snapshot, component, config, endpoint)["mme-config"]
    assert item.shares == ()
    assert "split" not in item.basis


def test_on_demand_requests_are_priced_per_million_of_each_kind(snapshot):
    def table(name, **volumes):
        tags = {f"mlplat:cost:monthly-{kind}-requests": str(n) for kind, n in volumes.items()}
        return resource(
            "aws:dynamodb/table:Table", name, {"billingMode": "PAY_PER_REQUEST", "tags": tags}
        )

    priced = items(snapshot, table("r", read=10**9), table("w", write=10**9), table("none"))
    # 1,000M reads × $0.125/M = $125; 1,000M writes × $0.625/M = $625
    assert priced["r"].monthly == pytest.approx(125.0, rel=1e-12)
    assert priced["r"].basis.startswith("on-demand: 1000M reads × $0.125/M + 0M writes")
    assert priced["w"].monthly == pytest.approx(625.0, rel=1e-12)
    assert priced["w"].basis.startswith("on-demand: 0M reads × $0.125/M + 1000M writes")
    assert (priced["none"].monthly, priced["none"].max_monthly) == (0, 0)


def test_provisioned_capacity_not_declared_counts_as_none(snapshot):
    table = resource(
        "aws:dynamodb/table:Table",
        "t",
        {
            "writeCapacity": 2,  # no billingMode: PROVISIONED, AWS's default
            "globalSecondaryIndexes": [{"name": "i", "readCapacity": 3}],
        },
    )
    item = items(snapshot, table)["t"]
    # reads 0 + 3 (index), writes 2 + 0: 3 × 730 × $0.00013 + 2 × 730 × $0.00065
    assert item.monthly == pytest.approx(3 * 730 * 0.00013 + 2 * 730 * 0.00065)
    assert item.basis.startswith("provisioned: 3 × RCU × 730 h × $0.00013/h + 2 × WCU")


def test_pulumi_eks_default_nodes_take_the_clusters_node_group_options(snapshot):
    cluster = resource(
        "eks:index:Cluster",
        "cluster",
        {
            "version": "1.33",
            "nodeGroupOptions": {"instanceType": "m5.large", "maxSize": 4, "desiredCapacity": 1},
            "desiredCapacity": 3,  # a top-level setting wins over nodeGroupOptions
        },
        custom=False,
    )
    item = items(snapshot, cluster)["cluster"]
    # control plane 730 × $0.60 (1.33 in extended support) = $438; nodes m5.large $0.096/h:
    # 3 × 730 × 0.096 = $210.24, 4 at max = $280.32
    assert item.monthly == pytest.approx(438 + 210.24)
    assert item.max_monthly == pytest.approx(438 + 280.32)
    assert item.basis == (
        "control plane 1 × cluster × 730 h × $0.6/h "
        "(1.33 standard support ended 2026-07-29: extended support)"
        " + default node group 3 × m5.large × 730 h × $0.096/h (skipDefaultNodeGroup not set)"
    )


def test_an_undeclared_bucket_costs_nothing_at_either_bound_and_says_why(snapshot):
    item = items(snapshot, resource("aws:s3/bucket:Bucket", "b", {}))["b"]
    assert (item.monthly, item.max_monthly) == (0, 0)
    assert item.basis == "no expected storage declared (tag mlplat:cost:expected-storage-gb): $0"


def test_an_unpriced_default_node_type_is_reported_with_its_region(snapshot):
    cluster = resource(
        "eks:index:Cluster",
        "cluster",
        {"version": "1.34", "nodeGroupOptions": {"instanceType": "x9.nonexistent"}},
        custom=False,
    )
    with pytest.raises(EstimateError, match="'x9.nonexistent' in us-east-1 in the price snapshot"):
        items(snapshot, cluster)
