"""The price snapshot: a versioned JSON file of AWS on-demand list prices per region.

The estimator never calls AWS: it reads ``infra/prices.json``, which states where its numbers
came from and when (it lives with the instance catalog, because placement chooses instance
types by price too). ``mlplat prices refresh`` (``mlplat/cost/refresh.py``) rebuilds the same
structure from the AWS Price List API. The schema is checked here, so a hand edit or a refresh
that lost a field fails on load with the path of the field, not later with a KeyError.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, ValidationError

from infra.project import PRICE_SNAPSHOT

DEFAULT_SNAPSHOT = PRICE_SNAPSHOT

# AWS bills "per month" at 730 hours (365 days × 24 h / 12): the figure its calculator uses.
HOURS_PER_MONTH = 730


class PriceLookupError(LookupError):
    """A price the snapshot does not hold: an unknown region, instance type or price."""


class SnapshotError(ValueError):
    """The snapshot file is missing, is not JSON, or does not match the schema."""


class _Prices(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


HourlyTable = dict[str, NonNegativeFloat]


class EksPrices(_Prices):
    standard_cluster_hour: NonNegativeFloat
    extended_support_cluster_hour: NonNegativeFloat


class DynamoDbPrices(_Prices):
    on_demand_write_per_million: NonNegativeFloat = Field(
        description="Per million write request units (PAY_PER_REQUEST)."
    )
    on_demand_read_per_million: NonNegativeFloat = Field(
        description="Per million read request units (PAY_PER_REQUEST)."
    )
    provisioned_wcu_hour: NonNegativeFloat
    provisioned_rcu_hour: NonNegativeFloat


class CloudWatchPrices(_Prices):
    dashboard_month: NonNegativeFloat
    standard_alarm_metric_month: NonNegativeFloat
    high_resolution_alarm_metric_month: NonNegativeFloat


class AmpPrices(_Prices):
    """Amazon Managed Service for Prometheus (aws.amazon.com/prometheus/pricing)."""

    ingest_first_2b_per_10m_samples: NonNegativeFloat = Field(
        description="Per 10 million samples, the month's first 2 billion."
    )
    ingest_next_250b_per_10m_samples: NonNegativeFloat
    ingest_over_252b_per_10m_samples: NonNegativeFloat
    storage_gb_month: NonNegativeFloat = Field(description="Samples (1-2 bytes each) and metadata.")
    collector_hour: NonNegativeFloat = Field(description="An AWS managed collector (scraper).")
    collected_per_10m_samples: NonNegativeFloat


class GrafanaPrices(_Prices):
    """Amazon Managed Grafana, per active user and month (aws.amazon.com/grafana/pricing)."""

    editor_month: NonNegativeFloat
    viewer_month: NonNegativeFloat


class EmrPrices(_Prices):
    """EMR's charge for a Spark run's pods, on top of the compute they run on (EMR on EKS), or
    including it (EMR Serverless): per vCPU-hour and GB-hour requested, billed per second."""

    vcpu_hour: NonNegativeFloat
    gb_hour: NonNegativeFloat


class MskPrices(_Prices):
    broker_hour: HourlyTable = Field(description="Provisioned MSK, per kafka.* broker-hour.")
    storage_gb_month: NonNegativeFloat

    def broker(self, instance_type: str, region: str) -> float:
        return _lookup(self.broker_hour, instance_type, "MSK broker", region)


class NetworkPrices(_Prices):
    """Charges of the network the platform builds (hand-transcribed, like AMP's)."""

    interface_endpoint_az_hour: NonNegativeFloat = Field(
        description="An interface VPC endpoint, per Availability Zone it is in, per hour "
        "(aws.amazon.com/privatelink/pricing); gateway endpoints (S3, DynamoDB) are free."
    )
    public_ipv4_hour: NonNegativeFloat = Field(
        description="Every public IPv4 address, in use or idle, per hour (aws.amazon.com/vpc/"
        "pricing, since 2024-02-01): the NAT gateways' Elastic IPs."
    )
    application_load_balancer_hour: NonNegativeFloat = Field(
        description="An Application Load Balancer, per hour, before its LCUs "
        "(aws.amazon.com/elasticloadbalancing/pricing)."
    )


class FirehosePrices(_Prices):
    """Amazon Data Firehose with MSK as its source, delivering to S3 with dynamic partitioning
    (aws.amazon.com/firehose/pricing): MSK-source ingestion is billed per GB of the higher of
    ingested and delivered bytes, with no 5 KB rounding per record; dynamic partitioning adds a
    charge per GB delivered, per 1,000 S3 objects delivered, and per JQ processing hour."""

    msk_ingestion_gb: NonNegativeFloat = Field(description="Per GB, the first 500 TB a month.")
    dynamic_partitioning_gb: NonNegativeFloat
    dynamic_partitioning_per_1000_objects: NonNegativeFloat
    jq_processing_hour: NonNegativeFloat


class RegionPrices(_Prices):
    """List prices in one region, in the snapshot's currency."""

    sagemaker_hosting_instance_hour: HourlyTable = Field(
        description="SageMaker real-time inference, per ml.* instance-hour."
    )
    ec2_instance_hour: HourlyTable = Field(description="EC2 on-demand Linux, shared tenancy.")
    ec2_spot_instance_hour: HourlyTable = Field(
        default_factory=dict,
        description="Optional spot price snapshot; types absent here use the configured discount.",
    )
    # The model lifecycle (cost_model/lifecycle.py): training and processing jobs, on demand.
    sagemaker_training_instance_hour: HourlyTable = Field(
        default_factory=dict, description="SageMaker training, per ml.* instance-hour."
    )
    sagemaker_processing_instance_hour: HourlyTable = Field(
        default_factory=dict, description="SageMaker processing, per ml.* instance-hour."
    )
    eks: EksPrices
    nat_gateway_hour: NonNegativeFloat
    kms_key_month: NonNegativeFloat
    cloudwatch: CloudWatchPrices
    dynamodb: DynamoDbPrices
    s3_standard_gb_month: NonNegativeFloat
    # Transcribed by hand (``mlplat prices refresh`` does not fetch them yet): optional, and a
    # resource they would price says so when they are missing.
    amp: AmpPrices | None = None
    grafana: GrafanaPrices | None = None
    # Not in the Price List API refresh (yet): None in a refreshed snapshot, and what needs them
    # is then an estimate error naming the price.
    emr_on_eks: EmrPrices | None = None
    emr_serverless: EmrPrices | None = None
    msk: MskPrices | None = None
    firehose: FirehosePrices | None = None
    network: NetworkPrices | None = None

    def sagemaker_hour(self, instance_type: str, region: str) -> float:
        return _lookup(
            self.sagemaker_hosting_instance_hour, instance_type, "SageMaker hosting", region
        )

    def ec2_hour(self, instance_type: str, region: str) -> float:
        return _lookup(self.ec2_instance_hour, instance_type, "EC2 on-demand", region)


class PriceSnapshot(_Prices):
    source: str = Field(min_length=1)
    retrieved: dt.date
    currency: Literal["USD"]
    regions: dict[str, RegionPrices] = Field(min_length=1)

    def region(self, name: str) -> RegionPrices:
        try:
            return self.regions[name]
        except KeyError:
            raise PriceLookupError(
                f"no prices for region {name!r} in the snapshot (retrieved {self.retrieved}); "
                f"it has {', '.join(sorted(self.regions))}. "
                f"Add it with `mlplat prices refresh --regions {name}`."
            ) from None


def _lookup(table: HourlyTable, instance_type: str, what: str, region: str) -> float:
    try:
        return table[instance_type]
    except KeyError:
        raise PriceLookupError(
            f"no {what} price for {instance_type!r} in {region} in the price snapshot; "
            f"known types: {', '.join(sorted(table)) or 'none'}. "
            "Add it with `mlplat prices refresh --instance-types ...`."
        ) from None


def load_snapshot(path: Path = DEFAULT_SNAPSHOT) -> PriceSnapshot:
    """Read and validate a snapshot; every schema problem is named with its path."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SnapshotError(f"price snapshot {path} does not exist") from None
    except json.JSONDecodeError as error:
        raise SnapshotError(f"price snapshot {path} is not JSON: {error}") from None
    try:
        return PriceSnapshot.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        raise SnapshotError(f"price snapshot {path} is invalid: {problems}") from None


def dump_snapshot(snapshot: PriceSnapshot, path: Path) -> None:
    """Write a snapshot deterministically, so refreshes diff cleanly.

    The header (source, retrieved, currency) stays first; the price tables are sorted.
    """
    document = snapshot.model_dump(mode="json")
    document["regions"] = _sorted(document["regions"])
    Path(path).write_text(json.dumps(document, indent=2) + "\n")


def _sorted(value):
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    return value
