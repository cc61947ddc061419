"""Realistic pricing:GetProducts responses for the refresh tests (botocore Stubber)."""

from __future__ import annotations

import json
import zlib

import boto3
from botocore.stub import Stubber

from mlplat.cost.refresh import dashboard_query, region_queries

TYPES = ["m5.large", "g5.xlarge"]


def product(service: str, family: str, attributes: dict, *tiers: tuple[str, str, str], unit="Hrs"):
    """A PriceList entry as GetProducts returns it: a JSON string with product and terms."""
    sku = f"SKU{zlib.crc32(json.dumps([service, attributes], sort_keys=True).encode()):010d}"
    dimensions = {
        f"{sku}.JRTCKXETXF.{index}": {
            "unit": unit,
            "beginRange": begin,
            "endRange": end,
            "description": f"{price} per {unit}",
            "appliesTo": [],
            "rateCode": f"{sku}.JRTCKXETXF.{index}",
            "pricePerUnit": {"USD": price},
        }
        for index, (begin, end, price) in enumerate(tiers)
    }
    document = {
        "product": {
            "productFamily": family,
            "attributes": {"servicecode": service, **attributes},
            "sku": sku,
        },
        "serviceCode": service,
        "terms": {
            "OnDemand": {
                f"{sku}.JRTCKXETXF": {
                    "priceDimensions": dimensions,
                    "sku": sku,
                    "effectiveDate": "2026-11-01T00:00:00Z",
                    "offerTermCode": "JRTCKXETXF",
                    "termAttributes": {},
                }
            }
        },
        "version": "20261101000000",
        "publicationDate": "2026-11-01T00:00:00Z",
    }
    return json.dumps(document)


def flat(price: str) -> tuple[str, str, str]:
    return ("0", "Inf", price)


def catalogue(region: str, prefix: str) -> dict[str, list[str]]:
    """Products per query key for one region, including look-alikes the refresh must skip."""
    at = {"regionCode": region}
    return {
        "sagemaker": [
            product(
                "AmazonSageMaker",
                "ML Instance",
                {**at, "instanceName": name, "usagetype": f"{prefix}-Host:{name}"},
                flat(price),
            )
            for name, price in [("ml.m5.xlarge", "0.2300000000"), ("ml.g5.xlarge", "1.4080000000")]
        ]
        + [
            # Asynchronous inference shares the product family; it must not overwrite hosting.
            product(
                "AmazonSageMaker",
                "ML Instance",
                {
                    **at,
                    "instanceName": "ml.m5.xlarge",
                    "usagetype": f"{prefix}-AsyncInf:ml.m5.xlarge",
                },
                flat("0.9999"),
            )
        ],
        "ec2": [
            product(
                "AmazonEC2",
                "Compute Instance",
                {**at, "instanceType": name, "usagetype": f"{prefix}-BoxUsage:{name}"},
                flat(price),
            )
            for name, price in [("m5.large", "0.0960000000"), ("g5.xlarge", "1.0060000000")]
        ],
        "eks": [
            product(
                "AmazonEKS",
                "Compute",
                {**at, "usagetype": f"{prefix}-AmazonEKS-Hours:perCluster"},
                flat("0.10"),
            ),
            product(
                "AmazonEKS",
                "Compute",
                {**at, "usagetype": f"{prefix}-AmazonEKS-Hours:perClusterExtended"},
                flat("0.60"),
            ),
        ],
        "nat": [
            product(
                "AmazonEC2",
                "NAT Gateway",
                {**at, "usagetype": f"{prefix}-NatGateway-Hours"},
                flat("0.045"),
            ),
            product(
                "AmazonEC2",
                "NAT Gateway",
                {**at, "usagetype": f"{prefix}-NatGateway-Bytes"},
                flat("0.045"),
                unit="GB",
            ),
            product(
                "AmazonEC2",
                "NAT Gateway",
                {**at, "usagetype": f"{prefix}-RegionalNatGateway-Hours"},
                flat("0.07"),
            ),
        ],
        "kms": [
            product(
                "AWSKMS",
                "Encryption Key",
                {**at, "usagetype": f"{region}-KMS-Keys"},
                flat("1.00"),
                unit="Keys",
            ),
        ],
        "cloudwatch": [
            # 10 alarm metrics are free: the first paid tier is the price.
            product(
                "AmazonCloudWatch",
                "Alarm",
                {**at, "usagetype": f"{prefix}-CW:AlarmMonitorUsage"},
                ("0", "10", "0.0000000000"),
                ("10", "Inf", "0.1000000000"),
                unit="Alarms",
            ),
            product(
                "AmazonCloudWatch",
                "Alarm",
                {**at, "usagetype": f"{prefix}-CW:HighResAlarmMonitorUsage"},
                flat("0.30"),
            ),
        ],
        "dynamodb": [
            product(
                "AmazonDynamoDB",
                "Amazon DynamoDB PayPerRequest Throughput",
                {**at, "usagetype": f"{prefix}-WriteRequestUnits"},
                flat("0.000000625"),
                unit="WriteRequestUnits",
            ),
            product(
                "AmazonDynamoDB",
                "Amazon DynamoDB PayPerRequest Throughput",
                {**at, "usagetype": f"{prefix}-ReadRequestUnits"},
                flat("0.000000125"),
                unit="ReadRequestUnits",
            ),
            product(
                "AmazonDynamoDB",
                "Provisioned IOPS",
                {**at, "usagetype": f"{prefix}-WriteCapacityUnit-Hrs"},
                ("0", "18600", "0"),
                ("18600", "Inf", "0.00065"),
            ),
            product(
                "AmazonDynamoDB",
                "Provisioned IOPS",
                {**at, "usagetype": f"{prefix}-ReadCapacityUnit-Hrs"},
                ("0", "18600", "0"),
                ("18600", "Inf", "0.00013"),
            ),
            product(
                "AmazonDynamoDB",
                "Provisioned IOPS",
                {**at, "usagetype": f"{prefix}-IA-WriteRequestUnits"},
                flat("0.00000078"),
            ),
        ],
        "s3": [
            product(
                "AmazonS3",
                "Storage",
                {**at, "usagetype": f"{prefix}-TimedStorage-ByteHrs", "volumeType": "Standard"},
                ("0", "51200", "0.0230000000"),
                ("51200", "512000", "0.0220000000"),
                ("512000", "Inf", "0.0210000000"),
                unit="GB-Mo",
            )
        ],
    }


DASHBOARD = product(
    "AmazonCloudWatch",
    "Dashboard",
    {"usagetype": "DashboardsUsageHour", "location": "Any"},
    flat("3.00"),
    unit="Dashboards",
)


def stubbed(regions: dict[str, str], split_sagemaker_pages: bool = False):
    client = boto3.client(
        "pricing",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stubber = Stubber(client)
    stubber.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": [DASHBOARD]},
        dashboard_query().params(),
    )
    for region, prefix in regions.items():
        products = catalogue(region, prefix)
        for query in region_queries(region, TYPES):
            page = products[query.key]
            if split_sagemaker_pages and query.key == "sagemaker":
                token = "WGDY7ko8fQXdlaUZVdasFQ==:RVSagyIFn770XQOzdUIcO9BY"
                stubber.add_response(
                    "get_products",
                    {"FormatVersion": "aws_v1", "PriceList": page[:1], "NextToken": token},
                    query.params(),
                )
                stubber.add_response(
                    "get_products",
                    {"FormatVersion": "aws_v1", "PriceList": page[1:]},
                    {**query.params(), "NextToken": token},
                )
            else:
                stubber.add_response(
                    "get_products", {"FormatVersion": "aws_v1", "PriceList": page}, query.params()
                )
    return client, stubber
