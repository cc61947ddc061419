"""Keys, buckets and tables as exported: configuration, prod protection, and the tables working
in moto from their exported definitions."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import boto3
import pytest
from moto import mock_aws
from scipy.stats import chisquare

from components.data import (
    TTL_ATTRIBUTE,
    model_key,
    prediction_partition_key,
    prediction_partition_keys,
    prediction_shard,
    team_key_pattern,
)
from infra.loader import read_stack_config
from mlplat.offline.engine import capture_stack
from mlplat.offline.export import to_document
from tests.data.conftest import STACKS, resources

STATEFUL = ("aws:dynamodb/table:Table", "aws:s3/bucket:Bucket", "aws:kms/key:Key")


@pytest.mark.parametrize("stack", STACKS)
def test_stateful_resources_are_protected_and_retained_exactly_in_prod(exports, stack):
    stateful = [r for t in STATEFUL for r in resources(exports[stack], t)]
    assert {r["type"] for r in stateful} == set(STATEFUL)
    expected = stack == "prod"
    wrong = [
        r["urn"]
        for r in stateful
        if r["protect"] is not expected or bool(r.get("retainOnDelete")) is not expected
    ]
    assert wrong == []


@pytest.mark.parametrize("stack", STACKS)
def test_keys_rotate_and_tables_are_durable_and_encrypted_with_the_platform_key(exports, stack):
    export = exports[stack]
    assert all(k["inputs"]["enableKeyRotation"] for k in resources(export, "aws:kms/key:Key"))
    platform_key = next(
        k["outputs"]["arn"]
        for k in resources(export, "aws:kms/key:Key")
        if k["urn"].endswith(f"::mlplat-{stack}-key")
    )
    tables = {
        t["inputs"]["name"]: t["inputs"] for t in resources(export, "aws:dynamodb/table:Table")
    }
    assert set(tables) == {f"mlplat-{stack}-model-registry", f"mlplat-{stack}-predictions"}
    for table in tables.values():
        assert table["pointInTimeRecovery"] == {"enabled": True}
        assert table["deletionProtectionEnabled"] is True
        assert table["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": platform_key}
        assert table["billingMode"] == "PAY_PER_REQUEST"
    assert tables[f"mlplat-{stack}-predictions"]["ttl"] == {
        "attributeName": TTL_ATTRIBUTE,
        "enabled": True,
    }


def _bucket_configuration(export: dict, bucket_name_part: str, type_: str) -> dict:
    bucket = next(
        b for b in resources(export, "aws:s3/bucket:Bucket") if bucket_name_part in b["urn"]
    )
    return next(
        r["inputs"]
        for r in resources(export, type_)
        if r["inputs"]["bucket"] == bucket["outputs"]["id"]
    )


def test_buckets_are_private_versioned_kms_encrypted_tls_only_and_expire_old_data(exports):
    export = exports["dev"]
    config = read_stack_config("dev")
    retention = json.loads(config.get("mlplat:data", "{}")).get("captureRetentionDays", 30)
    for part in ("artifacts", "capture"):
        public = _bucket_configuration(
            export, part, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
        )
        assert all(
            public[flag]
            for flag in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )
        versioning = _bucket_configuration(export, part, "aws:s3/bucketVersioning:BucketVersioning")
        assert versioning["versioningConfiguration"]["status"] == "Enabled"
        sse = _bucket_configuration(
            export,
            part,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        )
        assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        policy = json.loads(
            _bucket_configuration(export, part, "aws:s3/bucketPolicy:BucketPolicy")["policy"]
        )
        (deny,) = policy["Statement"]
        assert (deny["Effect"], deny["Condition"]) == (
            "Deny",
            {"Bool": {"aws:SecureTransport": "false"}},
        )
        lifecycle = _bucket_configuration(
            export, part, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        )
        rules = {rule["id"]: rule for rule in lifecycle["rules"]}
        assert (
            rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"]["noncurrentDays"]
            == 30
        )
    capture_rules = _bucket_configuration(
        export, "capture", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    )["rules"]
    assert {
        "id": "expire-capture",
        "status": "Enabled",
        "filter": {"prefix": "capture/"},
        "expiration": {"days": retention},
    } in capture_rules


# --- the tables in moto, from their exported definitions --------------------------------------


def create_table_arguments(inputs: dict) -> dict:
    """boto3 create_table arguments from a table's exported (camelCase) inputs."""
    key_schema = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
    if inputs.get("rangeKey"):
        key_schema.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
    arguments = {
        "TableName": inputs["name"],
        "KeySchema": key_schema,
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
        ],
        "BillingMode": inputs["billingMode"],
        "DeletionProtectionEnabled": inputs["deletionProtectionEnabled"],
    }
    if inputs["billingMode"] == "PROVISIONED":
        arguments["ProvisionedThroughput"] = {
            "ReadCapacityUnits": inputs["readCapacity"],
            "WriteCapacityUnits": inputs["writeCapacity"],
        }
    sse = inputs.get("serverSideEncryption")
    if sse and sse.get("enabled"):
        arguments["SSESpecification"] = {
            "Enabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": sse["kmsKeyArn"],
        }
    return arguments


@pytest.fixture
def dynamodb(exports):
    export = exports["dev"]
    region = read_stack_config("dev")["aws:region"]
    with mock_aws():
        client = boto3.client("dynamodb", region_name=region)
        tables = {}
        for table in resources(export, "aws:dynamodb/table:Table"):
            inputs = table["inputs"]
            client.create_table(**create_table_arguments(inputs))
            if inputs.get("ttl"):
                client.update_time_to_live(
                    TableName=inputs["name"],
                    TimeToLiveSpecification={
                        "Enabled": True,
                        "AttributeName": inputs["ttl"]["attributeName"],
                    },
                )
            if inputs["pointInTimeRecovery"]["enabled"]:
                client.update_continuous_backups(
                    TableName=inputs["name"],
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                )
            tables[inputs["name"].removeprefix("mlplat-dev-")] = inputs
        yield client, tables


def test_registry_items_the_stack_writes_fit_the_exported_table(dynamodb, exports):
    client, tables = dynamodb
    registry, hash_key = tables["model-registry"]["name"], tables["model-registry"]["hashKey"]
    described = client.describe_table(TableName=registry)["Table"]
    assert described["SSEDescription"]["Status"] == "ENABLED"
    assert described["DeletionProtectionEnabled"] is True
    items = [
        json.loads(r["inputs"]["item"])
        for r in resources(exports["dev"], "aws:dynamodb/tableItem:TableItem")
        if r["inputs"]["tableName"] == registry
    ]
    assert items, "serving registers each hosted model's version"
    for item in items:
        # Partitioned by the team-qualified name, which team roles' LeadingKeys patterns match.
        assert item[hash_key] == {"S": model_key(item["team"]["S"], item["model"]["S"])}
        client.put_item(TableName=registry, Item=item)
    # A new version of the first model, then the latest version read back by key order.
    key = items[0][hash_key]
    newer = {**items[0], "version": {"N": str(int(items[0]["version"]["N"]) + 1)}}
    client.put_item(TableName=registry, Item=newer)
    latest = client.query(
        TableName=registry,
        KeyConditionExpression="#m = :m",
        ExpressionAttributeNames={"#m": hash_key},
        ExpressionAttributeValues={":m": key},
        ScanIndexForward=False,
        Limit=1,
    )["Items"]
    assert latest[0]["version"] == newer["version"]


def test_prediction_writes_spread_over_the_shards(dynamodb, exports):
    client, tables = dynamodb
    predictions = tables["predictions"]
    data = json.loads(read_stack_config("dev").get("mlplat:data", "{}"))
    shards = data.get("predictionShards", 8)
    ttl = client.describe_time_to_live(TableName=predictions["name"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": TTL_ATTRIBUTE}

    team, model, writes = "fraud", "fraud-scorer", 1000
    request_ids = [str(uuid.UUID(int=i)) for i in range(writes)]  # deterministic ids
    for request_id in request_ids:
        partition = prediction_partition_key(team, model, request_id, shards)
        client.put_item(
            TableName=predictions["name"],
            Item={
                predictions["hashKey"]: {"S": partition},
                predictions["rangeKey"]: {"S": request_id},
                "score": {"N": "0.5"},
                TTL_ATTRIBUTE: {"N": "1900000000"},
            },
        )
    per_shard = Counter()
    for key in prediction_partition_keys(team, model, shards):
        assert key.startswith(f"{team}/{model}#")
        pages = client.get_paginator("query").paginate(
            TableName=predictions["name"],
            KeyConditionExpression="#k = :k",
            ExpressionAttributeNames={"#k": predictions["hashKey"]},
            ExpressionAttributeValues={":k": {"S": key}},
            Select="COUNT",
        )
        per_shard[key] = sum(page["Count"] for page in pages)
    counts = [per_shard[key] for key in prediction_partition_keys(team, model, shards)]
    assert sum(counts) == writes  # every write is found again through the shard keys
    assert min(counts) > 0 and max(counts) / min(counts) < 1.6
    assert chisquare(counts).pvalue > 0.01  # consistent with a uniform spread


def test_keys_are_qualified_by_their_team():
    assert model_key("fraud", "scorer") == "fraud/scorer"
    assert prediction_partition_keys("fraud", "scorer", 2) == ["fraud/scorer#0", "fraud/scorer#1"]
    assert team_key_pattern("fraud") == "fraud/*"
    for team in ("", "fraud/ops"):  # either would blur where one team's keys end
        with pytest.raises(ValueError, match="team"):
            model_key(team, "scorer")


def test_one_request_always_maps_to_one_shard():
    assert prediction_shard("abc", 8) == prediction_shard("abc", 8)
    assert {prediction_shard(str(i), 1) for i in range(100)} == {0}
    with pytest.raises(ValueError):
        prediction_shard("abc", 0)


def test_provisioned_capacity_is_scaled_by_application_auto_scaling():
    config = dict(read_stack_config("staging"))
    config["mlplat:data"] = json.dumps(
        {"provisionedCapacity": {"minRead": 5, "maxRead": 50, "minWrite": 10, "maxWrite": 200}}
    )
    export = to_document(capture_stack("staging", config=config))
    tables = resources(export, "aws:dynamodb/table:Table")
    assert {t["inputs"]["billingMode"] for t in tables} == {"PROVISIONED"}
    for table in tables:
        assert (table["inputs"]["readCapacity"], table["inputs"]["writeCapacity"]) == (5, 10)
        assert set(table["ignoreChanges"]) == {"readCapacity", "writeCapacity"}
    targets = {
        (t["inputs"]["resourceId"], t["inputs"]["scalableDimension"]): t["inputs"]
        for t in resources(export, "aws:appautoscaling/target:Target")
        if t["inputs"]["serviceNamespace"] == "dynamodb"
    }
    for table in tables:
        read = targets[(f"table/{table['inputs']['name']}", "dynamodb:table:ReadCapacityUnits")]
        write = targets[(f"table/{table['inputs']['name']}", "dynamodb:table:WriteCapacityUnits")]
        assert (
            read["minCapacity"],
            read["maxCapacity"],
            write["minCapacity"],
            write["maxCapacity"],
        ) == (5, 50, 10, 200)
    policies = [
        p["inputs"]
        for p in resources(export, "aws:appautoscaling/policy:Policy")
        if p["inputs"]["serviceNamespace"] == "dynamodb"
    ]
    assert len(policies) == 4
    assert {
        p["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"][
            "predefinedMetricType"
        ]
        for p in policies
    } == {"DynamoDBReadCapacityUtilization", "DynamoDBWriteCapacityUtilization"}
