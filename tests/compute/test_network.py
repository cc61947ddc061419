"""The VPC: subnets per zone, NAT per zone in prod, private endpoints for model traffic."""

from __future__ import annotations

import ipaddress

import pytest

from components.network import EKS_UNSUPPORTED_ZONE_IDS, Zone, eks_zones, plan_subnets

US_EAST_1 = [
    Zone(f"us-east-1{letter}", f"use1-az{n}")
    for letter, n in zip("abcd", (6, 3, 1, 2), strict=True)
]


def test_subnets_do_not_overlap_and_fit_the_vpc():
    plans = plan_subnets("10.10.0.0/16", US_EAST_1[:3])
    blocks = [ipaddress.ip_network(c) for p in plans for c in (p.private_cidr, p.public_cidr)]
    assert all(b.subnet_of(ipaddress.ip_network("10.10.0.0/16")) for b in blocks)
    assert not any(x.overlaps(y) for i, x in enumerate(blocks) for y in blocks[i + 1 :])


def test_adding_a_zone_keeps_existing_private_subnets():
    two = plan_subnets("10.10.0.0/16", US_EAST_1[:2])
    three = plan_subnets("10.10.0.0/16", US_EAST_1[:3])
    assert [p.private_cidr for p in two] == [p.private_cidr for p in three[:2]]


def test_too_small_a_vpc_is_refused():
    with pytest.raises(ValueError, match="too small"):
        plan_subnets("10.0.0.0/28", US_EAST_1[:3])


def test_zones_are_chosen_by_id_skipping_those_eks_refuses():
    chosen = eks_zones(US_EAST_1, 3, "us-east-1")
    # use1-az3 is us-east-1b in this account: EKS would refuse a cluster with a subnet there.
    assert [zone.zone_id for zone in chosen] == ["use1-az1", "use1-az2", "use1-az6"]
    with pytest.raises(ValueError, match=r"3 zones that EKS supports .*; 4 requested"):
        eks_zones(US_EAST_1, 4, "us-east-1")


@pytest.mark.slow
def test_every_subnet_is_in_a_zone_eks_supports(plan):
    for subnet in plan.of_type("aws:ec2/subnet:Subnet"):
        # By ID: a zone name means a different physical zone in each account.
        assert "availabilityZone" not in subnet["inputs"], subnet["urn"]
        assert subnet["inputs"]["availabilityZoneId"] not in EKS_UNSUPPORTED_ZONE_IDS


@pytest.mark.slow
def test_zones_nat_and_endpoints(plan):
    settings = plan.spec.settings.network
    subnets = plan.of_type("aws:ec2/subnet:Subnet")
    private = [s for s in subnets if "-private-" in s["urn"]]
    public = [s for s in subnets if "-public-" in s["urn"]]
    assert len(private) == len(public) == settings.availability_zones
    assert len({s["inputs"]["availabilityZoneId"] for s in private}) == settings.availability_zones
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
