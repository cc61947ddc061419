"""The network's charges: interface endpoints per Availability Zone, public IPv4 addresses, and
one Application Load Balancer per IngressGroup of the AWS Load Balancer Controller."""

from __future__ import annotations

import datetime as dt

import pytest

from cost_model.estimate import SHARED, EstimateError, EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import HOURS_PER_MONTH, load_snapshot
from tests.cost.cost_exports import export, resource, tags

OPTIONS = EstimateOptions(as_of=dt.date(2026, 11, 28))
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def _estimate(*resources, snapshot=None, region="us-east-1"):
    return estimate(
        Graph.from_export(export(*resources, region=region)), snapshot or load_snapshot(), OPTIONS
    )


def _endpoint(name: str, kind: str, subnets: int, service: str = "com.amazonaws.us-east-1.sts"):
    inputs = {"vpcEndpointType": kind, "serviceName": service, "tags": tags()}
    if kind == "Interface":
        inputs["subnetIds"] = [f"subnet-{i}" for i in range(subnets)]
    return resource(ENDPOINT, name, inputs)


def _ingress(
    name: str,
    *,
    group: str | None,
    team: str = "fraud",
    ingress_class: str = "alb",
    load_balancer: str | None = None,
):
    annotations = {"alb.ingress.kubernetes.io/tags": f"mlplat:environment=dev,mlplat:team={team}"}
    if group is not None:
        annotations["alb.ingress.kubernetes.io/group.name"] = group
    metadata = {"name": name, "namespace": team, "annotations": annotations}
    if load_balancer is not None:
        metadata["labels"] = {"mlplat.io/load-balancer": load_balancer}
    return resource(
        INGRESS, name, {"metadata": metadata, "spec": {"ingressClassName": ingress_class}}
    )


@pytest.mark.parametrize("zones", [1, 2, 3])
def test_an_interface_endpoint_costs_each_hour_in_each_zone(zones):
    network = load_snapshot().regions["us-east-1"].network
    (item,) = _estimate(_endpoint("sts", "Interface", zones)).items
    assert item.monthly == pytest.approx(
        zones * HOURS_PER_MONTH * network.interface_endpoint_az_hour
    )
    assert f"{zones} × sts endpoint AZ" in item.basis


def test_a_gateway_endpoint_is_free():
    gateway = _endpoint("s3", "Gateway", 0, service="com.amazonaws.us-east-1.s3")
    assert _estimate(gateway).items == ()


def test_the_region_decides_the_endpoint_rate():
    snapshot = load_snapshot()
    east = _estimate(_endpoint("sts", "Interface", 2)).total.monthly
    ireland = _estimate(_endpoint("sts", "Interface", 2), region="eu-west-1").total.monthly
    rates = {
        r: snapshot.regions[r].network.interface_endpoint_az_hour
        for r in ("us-east-1", "eu-west-1")
    }
    assert rates["us-east-1"] != rates["eu-west-1"]
    assert ireland / east == pytest.approx(rates["eu-west-1"] / rates["us-east-1"])


def test_every_public_address_costs_its_hours():
    addresses = [resource("aws:ec2/eip:Eip", f"nat-{i}", {"domain": "vpc"}) for i in range(3)]
    rate = load_snapshot().regions["us-east-1"].network.public_ipv4_hour
    assert _estimate(*addresses).total.monthly == pytest.approx(3 * HOURS_PER_MONTH * rate)


def test_one_load_balancer_per_ingress_group_owned_by_its_team():
    rate = load_snapshot().regions["us-east-1"].network.application_load_balancer_hour
    result = _estimate(
        _ingress("fraud-0-a", group="mlplat-dev-fraud-0"),
        _ingress("fraud-0-b", group="mlplat-dev-fraud-0"),  # same group: the same ALB
        _ingress("growth-0", group="mlplat-dev-growth-0", team="growth"),
        _ingress("alone", group=None, team="growth"),  # no group: an ALB of its own
    )
    assert len(result.items) == 3
    assert result.total.monthly == pytest.approx(3 * HOURS_PER_MONTH * rate)
    by_team = result.totals_by("team")
    assert by_team["fraud"].monthly == pytest.approx(HOURS_PER_MONTH * rate)
    assert by_team["growth"].monthly == pytest.approx(2 * HOURS_PER_MONTH * rate)
    assert SHARED not in by_team


def test_a_group_split_over_serving_shards_is_priced_where_it_is_owned():
    """A split team's shards each have an Ingress in the group: the one labelled as joining is
    never priced, wherever it comes in the graph, so each shard's `mlplat cost` and the whole
    environment's count the load balancer once, in the owning shard."""
    rate = load_snapshot().regions["us-east-1"].network.application_load_balancer_hour
    group = "mlplat-dev-fraud-0"
    joins = _ingress("routes-0-s1", group=group, load_balancer="joins")
    owns = _ingress("routes-0", group=group, load_balancer="owns")
    (item,) = _estimate(joins, owns).items  # the joining Ingress first
    assert item.urn.endswith("routes-0") and item.monthly == pytest.approx(HOURS_PER_MONTH * rate)
    assert _estimate(joins).items == ()  # the joining shard's own graph: priced elsewhere
    assert len(_estimate(owns).items) == 1  # the owning shard's graph
    # two Ingresses of one group both labelled "owns" (never made so) still make one ALB
    assert len(_estimate(owns, _ingress("again", group=group, load_balancer="owns")).items) == 1


def test_an_ingress_of_another_controller_makes_no_load_balancer_here():
    assert _estimate(_ingress("nginx", group=None, ingress_class="nginx")).items == ()


def test_missing_network_prices_are_an_error_naming_them():
    snapshot = load_snapshot()
    regions = dict(snapshot.regions)
    regions["us-east-1"] = regions["us-east-1"].model_copy(update={"network": None})
    without = snapshot.model_copy(update={"regions": regions})
    with pytest.raises(EstimateError, match="no network prices for us-east-1"):
        _estimate(_endpoint("sts", "Interface", 2), snapshot=without)
