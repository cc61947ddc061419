"""Each line item's basis shows the arithmetic of its figure, for every kind of priced resource;
node groups take their instance type from the launch template they name; a configuration is
priced by the endpoints that use it, found by name or by dependency.

Prices are the committed snapshot's (mlplat/cost/prices.json, us-east-1); each expectation's
arithmetic is in its comment, so a wrong figure, bound or explanation fails here.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cost_exports import export, multi_model_endpoint, resource

from mlplat.cost.estimate import EstimateOptions as Options
from mlplat.cost.estimate import Share, estimate
from mlplat.cost.graph import Graph
from mlplat.cost.prices import load_snapshot

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
