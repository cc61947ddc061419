"""The network pricers' basis text, owners and edges on hand-made graphs (test_network_costs.py
has the counting): an interface endpoint's service name, a public address, an ALB whose tags
annotation is absent or holds '=' in a value, and each pricer without the region's network
rates. Rates (infra/prices.json, us-east-1): an interface endpoint $0.01 per AZ-hour, a public
IPv4 address $0.005/h, an Application Load Balancer $0.0225/h."""

from __future__ import annotations

import pytest

from cost_model.estimate import EstimateError
from cost_model.prices import load_snapshot
from tests.cost.cost_exports import resource, tags
from tests.cost.pricer_graphs import east_with, price

ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ADDRESS = "aws:ec2/eip:Eip"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
TAGS_ANNOTATION = "alb.ingress.kubernetes.io/tags"


@pytest.fixture(scope="module", autouse=True)
def _the_rates_worked_here():
    network = load_snapshot().region("us-east-1").network
    assert network.interface_endpoint_az_hour == 0.01
    assert network.public_ipv4_hour == 0.005
    assert network.application_load_balancer_hour == 0.0225


def _interface(service: str | None, zones: int = 2):
    inputs = {"vpcEndpointType": "Interface", "subnetIds": [f"subnet-{i}" for i in range(zones)]}
    if service is not None:
        inputs["serviceName"] = service
    return resource(ENDPOINT, "endpoint", {**inputs, "tags": tags(team="platform")})


def _ingress(annotations: dict[str, str]):
    metadata = {"name": "routes", "namespace": "fraud", "annotations": annotations}
    return resource(INGRESS, "routes", {"metadata": metadata, "spec": {"ingressClassName": "alb"}})


# --- interface endpoints -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "label"),
    [
        ("com.amazonaws.us-east-1.ecr.api", "ecr.api"),
        ("com.amazonaws.us-east-1.sagemaker.runtime", "sagemaker.runtime"),
        ("com.amazonaws.us-east-1.sts", "sts"),
        (None, ""),
    ],
)
def test_an_interface_endpoint_is_named_by_its_service(service, label):
    (line,) = price(_interface(service)).items
    # 2 zones × 730 h × $0.01 = $14.60.
    assert (line.monthly, line.max_monthly) == (pytest.approx(14.6), pytest.approx(14.6))
    assert line.basis == (
        f"2 × {label} endpoint AZ × 730 h × $0.01/h (data processed not estimated)"
    )
    assert line.team == "platform"


def test_an_endpoint_of_no_declared_kind_is_a_free_gateway():
    untyped = resource(ENDPOINT, "s3", {"serviceName": "com.amazonaws.us-east-1.s3"})
    assert price(untyped).items == ()


def test_an_interface_endpoint_without_network_rates_is_an_error_naming_the_region():
    with pytest.raises(EstimateError, match="no network prices for us-east-1 in the price"):
        price(_interface("com.amazonaws.us-east-1.sts"), snapshot=east_with(network=None))


# --- public addresses ----------------------------------------------------------------------------


def test_a_public_address_costs_every_hour():
    (line,) = price(resource(ADDRESS, "nat-a", {"domain": "vpc", "tags": tags()})).items
    # 730 h × $0.005 = $3.65.
    assert (line.monthly, line.max_monthly) == (pytest.approx(3.65), pytest.approx(3.65))
    assert line.basis == "1 × public IPv4 address × 730 h × $0.005/h"


def test_a_public_address_without_network_rates_is_an_error_naming_the_region():
    with pytest.raises(EstimateError, match="no network prices for us-east-1 in the price"):
        price(resource(ADDRESS, "nat-a", {"domain": "vpc"}), snapshot=east_with(network=None))


# --- the routes' load balancers ------------------------------------------------------------------


def test_a_load_balancer_costs_its_hours_and_is_its_teams():
    (line,) = price(_ingress({TAGS_ANNOTATION: "mlplat:environment=dev,mlplat:team=fraud"})).items
    # 730 h × $0.0225 = $16.425.
    assert (line.monthly, line.max_monthly) == (pytest.approx(16.425), pytest.approx(16.425))
    assert line.basis == (
        "1 × Application Load Balancer × 730 h × $0.0225/h (LCUs not estimated: by traffic)"
    )
    assert line.team == "fraud"


def test_a_tag_value_may_hold_an_equals_sign():
    # AWS tag values may contain '='; the controller splits each pair at its first '='
    # (aws-load-balancer-controller pkg/annotations/parser.go, ParseStringMapAnnotation).
    annotation = "owner=ml=platform,mlplat:team=fraud=eu"
    (line,) = price(_ingress({TAGS_ANNOTATION: annotation})).items
    assert line.team == "fraud=eu"


def test_spaces_around_the_pairs_are_trimmed_as_the_controller_does():
    annotation = "mlplat:environment=dev, mlplat:team=fraud ,owner=ml"
    (line,) = price(_ingress({TAGS_ANNOTATION: annotation})).items
    assert line.team == "fraud"


@pytest.mark.parametrize(
    "annotations",
    [{}, {TAGS_ANNOTATION: ""}, {TAGS_ANNOTATION: "mlplat:environment=dev,owner=ml"}],
    ids=["no tags annotation", "empty", "no team tag"],
)
def test_a_load_balancer_without_a_team_tag_is_shared(annotations):
    (line,) = price(_ingress(annotations)).items
    assert line.team is None
    assert line.allocations("team") == [("(shared)", 1.0)]


def test_a_load_balancer_without_network_rates_is_an_error_naming_the_region():
    with pytest.raises(EstimateError, match="no network prices for us-east-1 in the price"):
        price(_ingress({}), snapshot=east_with(network=None))


def test_an_ingress_of_another_class_before_an_alb_one_does_not_hide_it():
    nginx = resource(
        INGRESS,
        "nginx",
        {"metadata": {"name": "nginx", "annotations": {}}, "spec": {"ingressClassName": "nginx"}},
    )
    (line,) = price(nginx, _ingress({TAGS_ANNOTATION: "mlplat:team=fraud"})).items
    assert line.urn.endswith("::routes") and line.team == "fraud"
