"""Where a drift run's results go: CloudWatch metrics, a JSON report per model in S3, and the
registry item's ``lastDrift`` in DynamoDB.

CloudWatch namespace ``mlplat/Drift`` (configurable), all metrics at the window's end time:
- ``DriftDetected`` (0/1), ``DriftedFeatureShare`` (0-1), ``RowsEvaluated`` (count); dimensions
  ``environment``, ``model``, ``version``: the metrics per-model alarms read.
- ``DriftScore``; dimensions ``environment``, ``model``, ``version``, ``feature``: the KS
  statistic (method ``ks``) or the PSI (method ``psi``) of each feature. This is models x
  features custom metrics; ``feature_metrics: false`` leaves them to the S3 report.
- ``UnattributedRecords``, ``MalformedRecords`` (count); dimensions ``environment``, ``endpoint``.
``environment`` is a dimension because stacks may share an account.

PutMetricData takes at most 1,000 metrics per request (botocore cloudwatch model,
PutMetricData documentation); the job sends batches of that size. PutMetricData rather than the
Embedded Metric Format: EMF lines on stdout become metrics only where CloudWatch Logs extracts
them, which is not documented for Processing job logs; PutMetricData works from any role allowed
``cloudwatch:PutMetricData``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from boto3.dynamodb.types import TypeSerializer

from components.data import REGISTRY_HASH_KEY, REGISTRY_RANGE_KEY, model_key

PUT_METRIC_DATA_MAX = 1000


def metric_data(report: dict, *, feature_metrics: bool = True) -> list[dict]:
    """Every metric datum of a run report, in PutMetricData's shape."""
    timestamp = datetime.fromisoformat(report["window"]["end"])
    environment = report["environment"]
    data = []

    def datum(name: str, value: float, unit: str, **dimensions: str) -> None:
        dims = [{"Name": "environment", "Value": environment}]
        dims += [{"Name": key, "Value": str(val)} for key, val in dimensions.items()]
        data.append(
            {
                "MetricName": name,
                "Dimensions": dims,
                "Timestamp": timestamp,
                "Value": float(value),
                "Unit": unit,
            }
        )

    for result in report["models"]:
        if result["status"] not in ("drift", "no_drift"):
            continue
        ids = {"model": result["model"], "version": result["version"]}
        datum("DriftDetected", result["status"] == "drift", "None", **ids)
        datum("DriftedFeatureShare", result["driftedShare"], "None", **ids)
        datum("RowsEvaluated", result["rows"], "Count", **ids)
        if feature_metrics:
            for feature in result["features"]:
                datum("DriftScore", feature["score"], "None", **ids, feature=feature["name"])
    for endpoint, counts in sorted(report["endpoints"].items()):
        datum("UnattributedRecords", counts["unattributed"], "Count", endpoint=endpoint)
        datum("MalformedRecords", counts["malformed"], "Count", endpoint=endpoint)
    return data


def put_metrics(cloudwatch, namespace: str, data: list[dict]) -> int:
    """Send ``data`` in PutMetricData-sized batches; the number of requests made."""
    requests = 0
    for start in range(0, len(data), PUT_METRIC_DATA_MAX):
        cloudwatch.put_metric_data(
            Namespace=namespace, MetricData=data[start : start + PUT_METRIC_DATA_MAX]
        )
        requests += 1
    return requests


def report_key(prefix: str, team: str, model: str, version: int, window_end: str) -> str:
    """``<prefix><team>/<model>/v<version>/<window end>.json``: the team first, so one IAM
    prefix grants a team's reports."""
    stamp = datetime.fromisoformat(window_end).astimezone(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    return f"{prefix}{model_key(team, model)}/v{version}/{stamp}.json"


def put_report(s3, bucket: str, key: str, body: dict) -> str:
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(body, indent=2).encode(),
        ContentType="application/json",
    )
    return f"s3://{bucket}/{key}"


def record_last_drift(
    dynamodb, table: str, team: str, model: str, version: int, status: dict
) -> bool:
    """Set the registry item's ``lastDrift``; False when the item does not exist (the job never
    creates registry items: only a deployment does)."""
    serialize = TypeSerializer().serialize
    status = json.loads(json.dumps(status), parse_float=Decimal)  # DynamoDB numbers: Decimal
    try:
        dynamodb.update_item(
            TableName=table,
            Key={
                REGISTRY_HASH_KEY: {"S": model_key(team, model)},
                REGISTRY_RANGE_KEY: {"N": str(version)},
            },
            UpdateExpression="SET lastDrift = :status",
            ConditionExpression="attribute_exists(#hash)",
            ExpressionAttributeNames={"#hash": REGISTRY_HASH_KEY},
            ExpressionAttributeValues={":status": serialize(status)},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True
