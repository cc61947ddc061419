"""The platform's DynamoDB tables: the model registry and the write-sharded predictions table.

Both tables are partitioned by team-qualified model keys, ``<team>/<model>`` (``model_key``): a
team's roles reach its items through one stable ``dynamodb:LeadingKeys`` pattern,
``<team>/*`` (``team_key_pattern``), so declaring a model never changes any IAM policy.

Registry: one item per model version (hash ``modelKey`` S = ``<team>/<model>``, range ``version``
N) and one served record per model (``components.registry_route``, where the key scheme lives,
Pulumi-free for the client); every item also carries the plain ``model`` and ``team``.
Predictions/features: hash ``modelShard`` = ``<team>/<model>#<shard>``, range ``requestId``. A
busy model would otherwise put all its writes on one partition key; clients spread them over
``DataSettings.prediction_shards`` keys with ``prediction_partition_key`` and read a model back by
querying each of its shards (``prediction_partition_keys``). Items expire through the TTL
attribute ``expiresAt`` (epoch seconds).

Both tables: point-in-time recovery, deletion protection, encryption with the platform key;
on-demand billing unless ``capacity`` is given, then provisioned read/write capacity owned by
Application Auto Scaling (target tracking on utilisation). ``protect`` (prod): protected and
retained on delete.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.registry_route import REGISTRY_HASH_KEY, REGISTRY_RANGE_KEY, model_key
from infra.declarations.environment import TableCapacity

PREDICTIONS_HASH_KEY = "modelShard"
PREDICTIONS_RANGE_KEY = "requestId"
TTL_ATTRIBUTE = "expiresAt"


def team_key_pattern(team: str) -> str:
    """The ``dynamodb:LeadingKeys`` pattern (IAM ``StringLike``) of every key a team owns."""
    return f"{model_key(team, '')}*"


def prediction_shard(request_id: str, shards: int) -> int:
    """The shard a request's item goes to: a stable hash of its id, uniform over ``shards``."""
    if shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    digest = hashlib.sha256(request_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def prediction_partition_key(team: str, model: str, request_id: str, shards: int) -> str:
    """The partition key a client writes a prediction under: ``<team>/<model>#<shard>``."""
    return f"{model_key(team, model)}#{prediction_shard(request_id, shards)}"


def prediction_partition_keys(team: str, model: str, shards: int) -> list[str]:
    """Every partition key of a model: what a reader queries to see all its predictions."""
    return [f"{model_key(team, model)}#{shard}" for shard in range(shards)]


@dataclass(frozen=True)
class TableKeys:
    hash_key: str
    hash_type: str
    range_key: str
    range_type: str


REGISTRY_KEYS = TableKeys(REGISTRY_HASH_KEY, "S", REGISTRY_RANGE_KEY, "N")
PREDICTIONS_KEYS = TableKeys(PREDICTIONS_HASH_KEY, "S", PREDICTIONS_RANGE_KEY, "S")

_CAPACITY_DIMENSIONS = {
    "read": ("dynamodb:table:ReadCapacityUnits", "DynamoDBReadCapacityUtilization"),
    "write": ("dynamodb:table:WriteCapacityUnits", "DynamoDBWriteCapacityUtilization"),
}


class DataTables(PlatformComponent):
    """The registry and predictions tables of one environment.

    Attributes: ``registry`` and ``predictions`` (aws.dynamodb.Table), ``registry_arn``,
    ``predictions_arn``, and ``shards`` (the count clients must use).
    """

    TYPE = "mlplat:data:DataTables"

    def __init__(
        self,
        name: str,
        *,
        kms_key_arn: pulumi.Input[str],
        shards: int,
        protect: bool,
        capacity: TableCapacity | None = None,
        deletion_protection: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, opts=opts)
        self.shards = shards
        self._capacity = capacity
        self._protect = protect
        self._deletion_protection = deletion_protection
        self.registry = self._table("model-registry", REGISTRY_KEYS, kms_key_arn, ttl=False)
        self.predictions = self._table("predictions", PREDICTIONS_KEYS, kms_key_arn, ttl=True)
        self.registry_arn: pulumi.Output[str] = self.registry.arn
        self.predictions_arn: pulumi.Output[str] = self.predictions.arn
        self.register_outputs(
            {
                "registryTable": self.registry.name,
                "registryArn": self.registry_arn,
                "predictionsTable": self.predictions.name,
                "predictionsArn": self.predictions_arn,
                "predictionShards": shards,
            }
        )

    def _table(self, role: str, keys: TableKeys, kms_key_arn, *, ttl: bool) -> aws.dynamodb.Table:
        table_name = f"{self.name}-{role}"
        capacity = self._capacity
        extra = {}
        if capacity is not None:
            extra = {"read_capacity": capacity.min_read, "write_capacity": capacity.min_write}
        table = aws.dynamodb.Table(
            f"{self.name}-{role}",
            name=table_name,
            hash_key=keys.hash_key,
            range_key=keys.range_key,
            attributes=[
                {"name": keys.hash_key, "type": keys.hash_type},
                {"name": keys.range_key, "type": keys.range_type},
            ],
            billing_mode="PAY_PER_REQUEST" if capacity is None else "PROVISIONED",
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=self._deletion_protection,
            server_side_encryption={"enabled": True, "kms_key_arn": kms_key_arn},
            ttl={"attribute_name": TTL_ATTRIBUTE, "enabled": True} if ttl else None,
            **extra,
            opts=self.child_opts(
                protect=self._protect,
                retain_on_delete=self._protect,
                # The autoscaler owns the live capacity.
                ignore_changes=["readCapacity", "writeCapacity"] if capacity else None,
            ),
        )
        if capacity is not None:
            for kind in ("read", "write"):
                self._scale(table, table_name, role, kind, capacity)
        return table

    def _scale(self, table, table_name: str, role: str, kind: str, capacity: TableCapacity) -> None:
        dimension, metric = _CAPACITY_DIMENSIONS[kind]
        target = aws.appautoscaling.Target(
            f"{self.name}-{role}-{kind}-target",
            service_namespace="dynamodb",
            resource_id=f"table/{table_name}",
            scalable_dimension=dimension,
            min_capacity=getattr(capacity, f"min_{kind}"),
            max_capacity=getattr(capacity, f"max_{kind}"),
            opts=self.child_opts(depends_on=[table]),
        )
        aws.appautoscaling.Policy(
            f"{self.name}-{role}-{kind}-policy",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            resource_id=target.resource_id,
            scalable_dimension=target.scalable_dimension,
            target_tracking_scaling_policy_configuration={
                "target_value": capacity.target_utilization_percent,
                "predefined_metric_specification": {"predefined_metric_type": metric},
            },
            opts=self.child_opts(),
        )
