"""The environment's VPC: private subnets for nodes and endpoints, public ones for load balancers.

Zones (``eks_zones``): chosen by zone ID, which is the same physical zone in every account (names
are shuffled per account), skipping the zones where EKS refuses to place a cluster.

Layout (``plan_subnets``): the VPC CIDR is split into /20 blocks per availability zone, private
first, so addresses are stable when an AZ is added. NAT gateways: one per AZ when
``nat_gateway_per_az`` (prod), else a single one in the first AZ (cheaper; an AZ outage cuts
egress). Model traffic stays inside the VPC through gateway endpoints (S3, DynamoDB) and
interface endpoints (ECR, STS, SageMaker runtime) with private DNS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from infra.declarations.environment import NetworkSettings

GATEWAY_ENDPOINTS = ("s3", "dynamodb")
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "sagemaker.runtime")
# Zones where EKS does not create clusters (CreateCluster fails with
# UnsupportedAvailabilityZoneException): the EKS user guide's "Create a cluster" prerequisites
# and AWS's knowledge-center article "eks-cluster-creation-errors" ("The subnet resides in a
# disallowed Availability Zone") name these zone IDs.
EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})


@dataclass(frozen=True)
class Zone:
    name: str
    zone_id: str


def eks_zones(zones: Sequence[Zone], count: int, region: str) -> list[Zone]:
    """The first ``count`` zones, by zone ID, in which EKS can run a cluster."""
    usable = sorted(
        (zone for zone in zones if zone.zone_id not in EKS_UNSUPPORTED_ZONE_IDS),
        key=lambda zone: zone.zone_id,
    )
    if len(usable) < count:
        raise ValueError(
            f"{region} offers {len(usable)} zones that EKS supports "
            f"({', '.join(z.zone_id for z in usable)}); {count} requested"
        )
    return usable[:count]


@dataclass(frozen=True)
class SubnetPlan:
    zone: Zone
    private_cidr: str
    public_cidr: str


def plan_subnets(cidr: str, zones: Sequence[Zone]) -> list[SubnetPlan]:
    """A private and a public subnet per zone: /20s, or eighths of a VPC smaller than a /17."""
    network = ipaddress.ip_network(cidr)
    prefix = max(network.prefixlen + 3, 20)  # eight blocks: room for three zones and growth
    if prefix > 28:  # AWS's smallest subnet
        raise ValueError(
            f"VPC {cidr} is too small: subnets would be /{prefix}, AWS allows /28 at most"
        )
    blocks = list(network.subnets(new_prefix=prefix))
    if len(blocks) < 2 * len(zones):
        raise ValueError(f"VPC {cidr} is too small for {len(zones)} zones of /{prefix} subnets")
    return [
        SubnetPlan(zone=zone, private_cidr=str(blocks[i]), public_cidr=str(blocks[len(zones) + i]))
        for i, zone in enumerate(zones)
    ]


class Network(PlatformComponent):
    TYPE = "mlplat:network:Network"

    def __init__(
        self, name: str, *, settings: NetworkSettings, region: str, zones: Sequence[Zone], opts=None
    ) -> None:
        """``zones``: the region's available zones (names and IDs, as EC2 lists them)."""
        super().__init__(name, opts=opts)
        chosen = eks_zones(zones, settings.availability_zones, region)
        self.plans = plan_subnets(settings.cidr, chosen)
        self.region = region

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=settings.cidr,
            enable_dns_hostnames=True,  # interface endpoints' private DNS needs both
            enable_dns_support=True,
            tags={"Name": name},
            opts=self.child_opts(),
        )
        self._create_public_subnets(name)
        self._create_private_subnets(name, nat_per_zone=settings.nat_gateway_per_az)
        self._create_endpoints(name, settings.cidr)

        self.vpc_id: pulumi.Output[str] = self.vpc.id
        self.private_subnet_ids = [subnet.id for subnet in self.private_subnets]
        self.public_subnet_ids = [subnet.id for subnet in self.public_subnets]
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
            }
        )

    def _create_public_subnets(self, name: str) -> None:
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, opts=self.child_opts())
        table = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            opts=self.child_opts(),
        )
        self.public_subnets = []
        for index, plan in enumerate(self.plans):
            subnet = aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=self.vpc.id,
                cidr_block=plan.public_cidr,
                availability_zone_id=plan.zone.zone_id,
                map_public_ip_on_launch=False,  # only load balancers live here, never nodes
                tags={"Name": f"{name}-public-{plan.zone.zone_id}", "kubernetes.io/role/elb": "1"},
                opts=self.child_opts(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{index}",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=self.child_opts(),
            )
            self.public_subnets.append(subnet)

    def _create_private_subnets(self, name: str, *, nat_per_zone: bool) -> None:
        nat_count = len(self.plans) if nat_per_zone else 1
        nats = []
        for index in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-{index}", domain="vpc", opts=self.child_opts())
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{index}",
                    allocation_id=eip.id,
                    subnet_id=self.public_subnets[index].id,
                    tags={"Name": f"{name}-nat-{self.plans[index].zone.zone_id}"},
                    opts=self.child_opts(),
                )
            )
        self.private_subnets, self.private_route_tables = [], []
        for index, plan in enumerate(self.plans):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=self.vpc.id,
                cidr_block=plan.private_cidr,
                availability_zone_id=plan.zone.zone_id,
                tags={
                    "Name": f"{name}-private-{plan.zone.zone_id}",
                    "kubernetes.io/role/internal-elb": "1",
                },
                opts=self.child_opts(),
            )
            table = aws.ec2.RouteTable(
                f"{name}-private-rt-{index}",
                vpc_id=self.vpc.id,
                routes=[
                    aws.ec2.RouteTableRouteArgs(
                        cidr_block="0.0.0.0/0", nat_gateway_id=nats[index if nat_per_zone else 0].id
                    )
                ],
                opts=self.child_opts(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=self.child_opts(),
            )
            self.private_subnets.append(subnet)
            self.private_route_tables.append(table)

    def _create_endpoints(self, name: str, cidr: str) -> None:
        for service in GATEWAY_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{self.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[table.id for table in self.private_route_tables],
                opts=self.child_opts(),
            )
        security_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            vpc_id=self.vpc.id,
            description="HTTPS from inside the VPC to interface endpoints",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[cidr],
                    description="VPC",
                )
            ],
            opts=self.child_opts(),
        )
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{self.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[subnet.id for subnet in self.private_subnets],
                security_group_ids=[security_group.id],
                opts=self.child_opts(),
            )
