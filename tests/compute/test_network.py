"""The VPC: subnets per zone, NAT per zone in prod, private endpoints for model traffic."""

from __future__ import annotations

import ipaddress

import pytest

from components.network import plan_subnets


def test_subnets_do_not_overlap_and_fit_the_vpc():
    plans = plan_subnets("10.10.0.0/16", ["a", "b", "c"])
    blocks = [ipaddress.ip_network(c) for p in plans for c in (p.private_cidr, p.public_cidr)]
    assert all(b.subnet_of(ipaddress.ip_network("10.10.0.0/16")) for b in blocks)
    assert not any(x.overlaps(y) for i, x in enumerate(blocks) for y in blocks[i + 1 :])


def test_adding_a_zone_keeps_existing_private_subnets():
    two = plan_subnets("10.10.0.0/16", ["a", "b"])
    three = plan_subnets("10.10.0.0/16", ["a", "b", "c"])
    assert [p.private_cidr for p in two] == [p.private_cidr for p in three[:2]]


def test_too_small_a_vpc_is_refused():
    with pytest.raises(ValueError, match="too small"):
        plan_subnets("10.0.0.0/28", ["a", "b", "c"])


@pytest.mark.slow
def test_zones_nat_and_endpoints(plan):
    settings = plan.spec.settings.network
    subnets = plan.of_type("aws:ec2/subnet:Subnet")
    private = [s for s in subnets if "-private-" in s["urn"]]
    public = [s for s in subnets if "-public-" in s["urn"]]
    assert len(private) == len(public) == settings.availability_zones
    assert len({s["inputs"]["availabilityZone"] for s in private}) == settings.availability_zones
    assert plan.stack != "prod" or settings.availability_zones == 3
    assert all(s["inputs"]["mapPublicIpOnLaunch"] is False for s in public)
    nats = plan.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == (settings.availability_zones if settings.nat_gateway_per_az else 1)
    assert (plan.stack == "prod") == settings.nat_gateway_per_az
    region = plan.spec.settings.region
    services = {
        e["inputs"]["serviceName"]: e["inputs"]
        for e in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    for service in ("s3", "dynamodb"):
        assert services[f"com.amazonaws.{region}.{service}"]["vpcEndpointType"] == "Gateway"
    for service in ("ecr.api", "ecr.dkr", "sts", "sagemaker.runtime"):
        endpoint = services[f"com.amazonaws.{region}.{service}"]
        assert endpoint["vpcEndpointType"] == "Interface" and endpoint["privateDnsEnabled"] is True
        assert set(endpoint["subnetIds"]) == {s["id"] for s in private}
