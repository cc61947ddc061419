"""Prediction events on Kafka: the environment's switch and sizes (``streaming:`` in
Pulumi.<env>.yaml). Off unless turned on: an MSK cluster bills per broker-hour whether or not
anything is published (``mlplat cost`` prices it: README, "Prediction events on Kafka").

One topic per team, not per model: MSK's guidance is at most 1,000 partitions (leaders and
followers) per broker on kafka.m5.large / m7g.large and 2,000 on the 2xlarge sizes ("Right-size
your cluster: number of partitions per broker", MSK Developer Guide, bestpractices.html). A topic
per model at 1,000 models, with 3 partitions and 3 replicas each, is 9,000 partition replicas:
three brokers would need 3,000 each, beyond every size below 4xlarge. A topic per team (10 teams
× 12 partitions × 3 replicas = 360) fits three large brokers with room to grow; events are keyed
by model, so one model's events stay ordered in one partition, and the sink splits them per
model again (components/streaming.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import AliasGenerator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from infra.declarations.errors import Problem
from infra.declarations.model import Declaration

# Broker types MSK offers for provisioned clusters that the price snapshot knows (standard
# brokers; t3.small lacks multi-VPC connectivity, which the Firehose sink needs).
BROKER_TYPES = (
    "kafka.m5.large",
    "kafka.m5.xlarge",
    "kafka.m5.2xlarge",
    "kafka.m7g.large",
    "kafka.m7g.xlarge",
    "kafka.m7g.2xlarge",
)
# The topic API (and aws.msk.Topic, which calls it) needs Kafka 3.6.0 or later on a provisioned
# cluster (MSK Developer Guide, "Topic operations": requirements).
MIN_KAFKA = (3, 6)
PARTITIONS_PER_BROKER = {"large": 1000, "xlarge": 1000, "2xlarge": 2000}


class StreamingSettings(Declaration):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=AliasGenerator(validation_alias=to_camel),
        populate_by_name=True,
    )

    enabled: bool = False
    kafka_version: str = "3.8.x"
    broker_instance_type: str = "kafka.m7g.large"
    brokers: int = Field(default=3, ge=2, le=30)
    broker_storage_gb: int = Field(default=100, ge=1, le=16384)
    partitions_per_team: int = Field(default=12, ge=1, le=1000)
    replication_factor: int = Field(default=3, ge=2, le=3)
    retention_hours: int = Field(default=168, ge=1, le=8760)
    # The events gateway's image (lifecycle/events/gateway/Dockerfile), which EKS models that
    # declare events run beside their server; needed once one does (infra/declarations/events.py).
    gateway_image: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9.:/_-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|"
        r"@sha256:[0-9a-f]{64})$",
    )


def streaming_problems(
    settings: StreamingSettings, zones: int, teams: int, path: str = "config.streaming"
) -> Iterator[Problem]:
    """Paths use the camelCase keys of Pulumi.<env>.yaml. Nothing is checked while it is off."""
    if not settings.enabled:
        return
    version = re.fullmatch(r"(\d+)\.(\d+)\.(\d+|x)", settings.kafka_version)
    if version is None:
        yield Problem(f"{path}.kafkaVersion", f"{settings.kafka_version!r} is not like '3.8.x'")
    elif (int(version[1]), int(version[2])) < MIN_KAFKA:
        yield Problem(
            f"{path}.kafkaVersion",
            f"{settings.kafka_version} is older than 3.6.0, which MSK's topic API (aws.msk.Topic) "
            "requires",
        )
    if settings.broker_instance_type not in BROKER_TYPES:
        yield Problem(
            f"{path}.brokerInstanceType",
            f"{settings.broker_instance_type!r} is not one of {', '.join(BROKER_TYPES)}",
        )
    if settings.brokers % zones:
        yield Problem(
            f"{path}.brokers",
            f"{settings.brokers} brokers over {zones} zones: MSK needs a multiple of the number "
            "of client subnets (one per zone)",
        )
    if settings.replication_factor > settings.brokers:
        yield Problem(
            f"{path}.replicationFactor",
            f"{settings.replication_factor} replicas need as many brokers ({settings.brokers})",
        )
    size = settings.broker_instance_type.rsplit(".", 1)[-1]
    limit = PARTITIONS_PER_BROKER.get(size)
    replicas = teams * settings.partitions_per_team * settings.replication_factor
    if limit is not None and settings.brokers and replicas / settings.brokers > limit:
        yield Problem(
            f"{path}.partitionsPerTeam",
            f"{teams} team topics × {settings.partitions_per_team} partitions × "
            f"{settings.replication_factor} replicas is {replicas / settings.brokers:.0f} per "
            f"broker, over MSK's {limit} for {settings.broker_instance_type}: add brokers or "
            "lower partitionsPerTeam",
        )
