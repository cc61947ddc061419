"""`mlplat prices refresh` against stubbed Price List API responses (botocore Stubber)."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.stub import Stubber
from cost_price_list import DASHBOARD, TYPES, catalogue, product, stubbed

from cost_model.prices import PriceSnapshot
from mlplat.cost.refresh import (
    RefreshError,
    dashboard_query,
    first_paid_rate,
    paginated_fetch,
    refresh,
)

TODAY = dt.date(2026, 11, 28)


def test_refresh_builds_the_snapshot_structure_from_get_products():
    client, stubber = stubbed({"us-east-1": "USE1", "eu-west-1": "EU"})
    with stubber:
        snapshot = refresh(paginated_fetch(client), ["us-east-1", "eu-west-1"], TYPES, TODAY)
    stubber.assert_no_pending_responses()
    assert isinstance(snapshot, PriceSnapshot) and snapshot.retrieved == TODAY
    assert "Price List API" in snapshot.source
    east = snapshot.region("us-east-1")
    assert east.sagemaker_hosting_instance_hour == {"ml.g5.xlarge": 1.408, "ml.m5.xlarge": 0.23}
    assert east.ec2_instance_hour == {"g5.xlarge": 1.006, "m5.large": 0.096}
    assert (east.eks.standard_cluster_hour, east.eks.extended_support_cluster_hour) == (0.10, 0.60)
    assert east.nat_gateway_hour == 0.045  # not the regional NAT gateway, not per GB
    assert east.kms_key_month == 1.0
    assert east.cloudwatch.model_dump() == {
        "dashboard_month": 3.0,
        "standard_alarm_metric_month": 0.10,  # past the free tier
        "high_resolution_alarm_metric_month": 0.30,
    }
    assert east.dynamodb.model_dump() == {
        "on_demand_write_per_million": 0.625,
        "on_demand_read_per_million": 0.125,
        "provisioned_wcu_hour": 0.00065,
        "provisioned_rcu_hour": 0.00013,
    }
    assert east.s3_standard_gb_month == 0.023  # the first 50 TB tier
    assert east.ec2_spot_instance_hour == {}
    assert snapshot.region("eu-west-1").nat_gateway_hour == 0.045


def test_refresh_follows_next_token_pages():
    client, stubber = stubbed({"us-west-2": "USW2"}, split_sagemaker_pages=True)
    with stubber:
        snapshot = refresh(paginated_fetch(client), ["us-west-2"], TYPES, TODAY)
    stubber.assert_no_pending_responses()
    # One type on each page: both arrive.
    assert set(snapshot.region("us-west-2").sagemaker_hosting_instance_hour) == {
        "ml.m5.xlarge",
        "ml.g5.xlarge",
    }


def test_a_missing_price_is_a_clear_error():
    def fetch(query):
        products = (
            catalogue("us-east-1", "USE1")
            if query.key != "dashboard"
            else {"dashboard": [DASHBOARD]}
        )
        chosen = [] if query.key == "eks" else products[query.key]
        return [json.loads(entry) for entry in chosen]

    with pytest.raises(
        RefreshError, match="no eks price 'AmazonEKS-Hours:perCluster' for us-east-1"
    ):
        refresh(fetch, ["us-east-1"], TYPES, TODAY)


def test_unknown_region_is_rejected_before_any_call():
    with pytest.raises(RefreshError, match="unknown billing prefix for mars-north-1"):
        refresh(lambda query: pytest.fail("no call expected"), ["mars-north-1"], TYPES, TODAY)


def test_access_denied_is_reported_cleanly():
    client = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_products", "AccessDeniedException", "not authorized to perform pricing:GetProducts"
    )
    with stubber, pytest.raises(RefreshError, match="AccessDeniedException: not authorized"):
        list(paginated_fetch(client)(dashboard_query()))


def test_missing_credentials_give_a_clean_message(no_aws_credentials):
    client = boto3.session.Session().client("pricing", region_name="us-east-1")
    with pytest.raises(RefreshError, match="no AWS credentials found") as error:
        list(paginated_fetch(client)(dashboard_query()))
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_first_paid_rate_skips_free_tiers_and_takes_the_first_paid_one():
    document = json.loads(
        product("S", "F", {}, ("0", "10", "0"), ("10", "100", "0.5"), ("100", "Inf", "0.4"))
    )
    assert str(first_paid_rate(document)) == "0.5"
    assert first_paid_rate(json.loads(product("S", "F", {}, ("0", "Inf", "0")))) is None


def test_two_prices_for_one_thing_are_an_error_not_a_pick():
    from cost_price_list import flat

    from mlplat.cost.refresh import RefreshError, _single, _table

    def parsed(*entries):
        return [json.loads(entry) for entry in entries]

    nat = parsed(
        product("AmazonEC2", "NAT Gateway", {"usagetype": "NatGateway-Hours"}, flat("0.045")),
        product("AmazonEC2", "NAT Gateway", {"usagetype": "NatGateway-Hours"}, flat("0.048")),
    )
    with pytest.raises(RefreshError, match="ambiguous nat price"):
        _single(nat, "us-east-1", "NatGateway-Hours", "nat")
    boxes = parsed(
        product(
            "AmazonEC2",
            "Compute Instance",
            {"instanceType": "m5.large", "usagetype": "BoxUsage:m5.large"},
            flat("0.096"),
        ),
        product(
            "AmazonEC2",
            "Compute Instance",
            {"instanceType": "m5.large", "usagetype": "BoxUsage:m5.large"},
            flat("0.1"),
        ),
    )
    with pytest.raises(RefreshError, match="ambiguous price for m5.large"):
        _table(boxes, "us-east-1", "instanceType", "BoxUsage:{}")


def test_nothing_to_refresh_is_refused_before_any_call():
    from mlplat.cost.refresh import RefreshError, refresh

    def no_calls(query):
        raise AssertionError("the API must not be called")

    with pytest.raises(RefreshError, match="no regions"):
        refresh(no_calls, [], ["m5.large"], dt.date(2026, 11, 28))
    with pytest.raises(RefreshError, match="no EC2 instance types"):
        refresh(no_calls, ["us-east-1"], [], dt.date(2026, 11, 28))


def test_an_instance_type_the_api_does_not_price_is_an_error():
    from mlplat.cost.refresh import RefreshError, _covering

    assert _covering({"m5.large": 0.096}, ["m5.large"], "us-east-1") == {"m5.large": 0.096}
    with pytest.raises(RefreshError, match="no price for c7i.4xlarge in us-east-1"):
        _covering({"m5.large": 0.096}, ["m5.large", "c7i.4xlarge"], "us-east-1")
