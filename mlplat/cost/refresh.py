"""Rebuild the price snapshot from the AWS Price List API (``pricing:GetProducts``).

One query per price family and region, narrowed by server-side filters; each product's usage type
is then matched exactly (``USE1-Host:ml.m5.xlarge``, ``EU-NatGateway-Hours``), because families
share product groups with look-alikes (regional NAT gateways, Studio notebooks, Standard-IA
tables). A price is the product's first paid on-demand tier, so free tiers are skipped and the
first volume tier is what a platform of this size pays. Spot prices are not in the Price List
API, so a refreshed snapshot has none and the estimator applies its configured spot discount.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cost_model.prices import PriceSnapshot, RegionPrices

# The Price List API is served from us-east-1 (and ap-south-1, eu-central-1) for every region.
PRICING_ENDPOINT_REGION = "us-east-1"

# Billing usage types carry a region prefix (us-east-1 often has none). Add a region here to
# refresh it.
USAGE_PREFIX = {
    "us-east-1": "USE1",
    "us-east-2": "USE2",
    "us-west-1": "USW1",
    "us-west-2": "USW2",
    "ca-central-1": "CAN1",
    "eu-west-1": "EU",
    "eu-west-2": "EUW2",
    "eu-west-3": "EUW3",
    "eu-central-1": "EUC1",
    "eu-north-1": "EUN1",
    "ap-south-1": "APS3",
    "ap-southeast-1": "APS1",
    "ap-southeast-2": "APS2",
    "ap-northeast-1": "APN1",
    "ap-northeast-2": "APN2",
    "sa-east-1": "SAE1",
}

EC2_LINUX_ON_DEMAND = (
    ("productFamily", "Compute Instance"),
    ("operatingSystem", "Linux"),
    ("tenancy", "Shared"),
    ("preInstalledSw", "NA"),
    ("capacitystatus", "Used"),
    ("licenseModel", "No License required"),
)


class RefreshError(RuntimeError):
    """The Price List API could not be reached, or did not return a price the snapshot needs."""


@dataclass(frozen=True)
class Query:
    """One GetProducts query: the service and its filters (field, value, filter type)."""

    key: str
    service_code: str
    filters: tuple[tuple[str, str, str], ...]

    def params(self) -> dict[str, Any]:
        return {
            "ServiceCode": self.service_code,
            "Filters": [
                {"Type": kind, "Field": field, "Value": value}
                for field, value, kind in self.filters
            ],
            "FormatVersion": "aws_v1",
        }


def _query(key: str, service: str, *filters: tuple[str, str], any_of=()) -> Query:
    terms = tuple((field, value, "TERM_MATCH") for field, value in filters)
    return Query(key, service, terms + tuple((f, v, "ANY_OF") for f, v in any_of))


def dashboard_query() -> Query:
    # Dashboards are priced globally (location "Any", no region code).
    return _query("dashboard", "AmazonCloudWatch", ("usagetype", "DashboardsUsageHour"))


def region_queries(region: str, ec2_instance_types: Sequence[str]) -> list[Query]:
    """The queries for one region, in the order ``refresh`` runs them."""
    where = ("regionCode", region)
    return [
        _query(
            "sagemaker",
            "AmazonSageMaker",
            where,
            ("productFamily", "ML Instance"),
            ("platoinstancetype", "Hosting"),
        ),
        _query(
            "ec2",
            "AmazonEC2",
            where,
            *EC2_LINUX_ON_DEMAND,
            any_of=[("instanceType", ",".join(sorted(ec2_instance_types)))],
        ),
        _query("eks", "AmazonEKS", where),
        _query("nat", "AmazonEC2", where, ("productFamily", "NAT Gateway")),
        _query("kms", "AWSKMS", where),
        _query("cloudwatch", "AmazonCloudWatch", where, ("productFamily", "Alarm")),
        _query("dynamodb", "AmazonDynamoDB", where),
        _query("s3", "AmazonS3", where, ("volumeType", "Standard")),
    ]


Fetch = Callable[[Query], Iterable[dict[str, Any]]]


def paginated_fetch(client: Any) -> Fetch:
    """Products of a query, across every page (NextToken), parsed from their JSON strings."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    paginator = client.get_paginator("get_products")

    def fetch(query: Query) -> Iterator[dict[str, Any]]:
        try:
            for page in paginator.paginate(**query.params()):
                for document in page.get("PriceList", []):
                    yield json.loads(document)
        except (NoCredentialsError, PartialCredentialsError):
            raise RefreshError(
                "no AWS credentials found: the Price List API needs signed requests. Configure "
                "credentials (`aws configure`, AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                "AWS_SECRET_ACCESS_KEY) for a principal allowed pricing:GetProducts."
            ) from None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            raise RefreshError(
                f"pricing:GetProducts for {query.service_code} failed: {code}: "
                f"{error.response.get('Error', {}).get('Message', '')}"
            ) from None
        except BotoCoreError as error:
            raise RefreshError(f"cannot query the Price List API: {error}") from None

    return fetch


def pricing_client(session: Any = None) -> Any:
    import boto3

    return (session or boto3.session.Session()).client(
        "pricing", region_name=PRICING_ENDPOINT_REGION
    )


def refresh(
    fetch: Fetch, regions: Sequence[str], ec2_instance_types: Sequence[str], today: dt.date
) -> PriceSnapshot:
    if not regions:
        raise RefreshError("no regions to refresh")
    if not ec2_instance_types:
        raise RefreshError("no EC2 instance types to price (--instance-types)")
    unknown = [region for region in regions if region not in USAGE_PREFIX]
    if unknown:
        raise RefreshError(
            f"unknown billing prefix for {', '.join(unknown)}: add it to USAGE_PREFIX in "
            "mlplat/cost/refresh.py"
        )
    dashboard = _single(list(fetch(dashboard_query())), None, "DashboardsUsageHour", "dashboard")
    prices = {
        region: _region_prices(fetch, region, ec2_instance_types, dashboard) for region in regions
    }
    return PriceSnapshot(
        source=(
            f"AWS Price List API (pricing:GetProducts via {PRICING_ENDPOINT_REGION}), on-demand "
            f"terms, first paid tier; rebuilt by `mlplat prices refresh` on {today}. Spot prices "
            "are not in the Price List API and are not included."
        ),
        retrieved=today,
        currency="USD",
        regions=prices,
    )


def _region_prices(
    fetch: Fetch, region: str, ec2_instance_types: Sequence[str], dashboard_month: Decimal
) -> RegionPrices:
    products = {
        query.key: list(fetch(query)) for query in region_queries(region, ec2_instance_types)
    }

    def one(key: str, usage: str) -> float:
        return float(_single(products[key], region, usage, key))

    def per_million(usage: str) -> float:
        return float(_single(products["dynamodb"], region, usage, "dynamodb") * 1_000_000)

    return RegionPrices(
        sagemaker_hosting_instance_hour=_table(
            products["sagemaker"], region, "instanceName", "Host:{}"
        ),
        ec2_instance_hour=_covering(
            _table(products["ec2"], region, "instanceType", "BoxUsage:{}"),
            ec2_instance_types,
            region,
        ),
        eks={
            "standard_cluster_hour": one("eks", "AmazonEKS-Hours:perCluster"),
            "extended_support_cluster_hour": one("eks", "AmazonEKS-Hours:perClusterExtended"),
        },
        nat_gateway_hour=one("nat", "NatGateway-Hours"),
        kms_key_month=one("kms", "KMS-Keys"),
        cloudwatch={
            "dashboard_month": float(dashboard_month),
            "standard_alarm_metric_month": one("cloudwatch", "CW:AlarmMonitorUsage"),
            "high_resolution_alarm_metric_month": one("cloudwatch", "CW:HighResAlarmMonitorUsage"),
        },
        dynamodb={
            "on_demand_write_per_million": per_million("WriteRequestUnits"),
            "on_demand_read_per_million": per_million("ReadRequestUnits"),
            "provisioned_wcu_hour": one("dynamodb", "WriteCapacityUnit-Hrs"),
            "provisioned_rcu_hour": one("dynamodb", "ReadCapacityUnit-Hrs"),
        },
        s3_standard_gb_month=one("s3", "TimedStorage-ByteHrs"),
    )


def _usage_types(region: str | None, name: str) -> set[str]:
    """The spellings of a usage type in a region: bare, billing prefix, or region code prefix."""
    if region is None:
        return {name}
    return {name, f"{USAGE_PREFIX[region]}-{name}", f"{region}-{name}"}


def first_paid_rate(product: dict[str, Any]) -> Decimal | None:
    """The on-demand price of the lowest tier that is not free."""
    dimensions = [
        dimension
        for term in product.get("terms", {}).get("OnDemand", {}).values()
        for dimension in term.get("priceDimensions", {}).values()
    ]
    paid = [
        (Decimal(d.get("beginRange", "0")), Decimal(d["pricePerUnit"]["USD"]))
        for d in dimensions
        if Decimal(d.get("pricePerUnit", {}).get("USD", "0")) > 0
    ]
    return min(paid)[1] if paid else None


def _matching(
    products: list[dict[str, Any]], usage_types: set[str]
) -> Iterator[tuple[dict, Decimal]]:
    for product in products:
        attributes = product.get("product", {}).get("attributes", {})
        rate = first_paid_rate(product)
        if attributes.get("usagetype") in usage_types and rate is not None:
            yield attributes, rate


def _single(products: list[dict[str, Any]], region: str | None, usage: str, key: str) -> Decimal:
    rates = {rate for _, rate in _matching(products, _usage_types(region, usage))}
    where = region or "global"
    if not rates:
        raise RefreshError(f"the Price List API returned no {key} price {usage!r} for {where}")
    if len(rates) > 1:
        raise RefreshError(f"ambiguous {key} price {usage!r} for {where}: {sorted(rates)}")
    return rates.pop()


def _covering(table: dict[str, float], wanted: Sequence[str], region: str) -> dict[str, float]:
    """Every instance type asked for must be priced: a silent gap would fail `mlplat cost` later."""
    missing = sorted(set(wanted) - set(table))
    if missing:
        raise RefreshError(
            f"the Price List API returned no price for {', '.join(missing)} in {region}"
        )
    return table


def _table(
    products: list[dict[str, Any]], region: str, attribute: str, usage: str
) -> dict[str, float]:
    table: dict[str, Decimal] = {}
    for product in products:
        attributes = product.get("product", {}).get("attributes", {})
        name = attributes.get(attribute)
        rate = first_paid_rate(product)
        if not name or rate is None:
            continue
        if attributes.get("usagetype") not in _usage_types(region, usage.format(name)):
            continue
        if table.setdefault(name, rate) != rate:
            raise RefreshError(f"ambiguous price for {name} in {region}: {table[name]} and {rate}")
    if not table:
        raise RefreshError(
            f"the Price List API returned no {usage.format('*')} prices for {region}"
        )
    return {name: float(rate) for name, rate in sorted(table.items())}
