"""Prediction events on Kafka (platform layer, when ``streaming.enabled``): an MSK provisioned
cluster, a topic per team, and a sink per topic into the capture bucket.

Cluster: IAM access control only (SASL/IAM on port 9098, TLS; no unauthenticated or plaintext
listener), TLS between brokers, at rest under the platform key, broker logs to CloudWatch, in the
private subnets behind a security group that admits the VPC on 9098 only, no public access.
Topic auto-creation is off: topics exist only as ``aws.msk.Topic`` (MSK's topic API, Kafka 3.6+).

Sink: Amazon Data Firehose with the topic as its source (MSK as source reads through private
connectivity: multi-VPC connectivity on for IAM, and a cluster policy that lets Firehose create
its VPC connection; Firehose developer guide, writing-with-msk.html). Chosen over MSK Connect's
S3 sink because that needs a connector plugin (a third-party JAR uploaded as a custom plugin)
and workers billed per MCU-hour whether events flow or not, while Firehose bills per GB read and
writes the capture layout with dynamic partitioning and no code: ``capture/events/teams/<team>/
<model>/events/yyyy/MM/dd/HH/<file>.jsonl``, the ``<endpoint>/<variant>/yyyy/mm/dd/hh/`` layout
the drift job reads (``lifecycle/drift/capture.py``), with the model in the endpoint's place and
``events`` as the variant. The hour is Firehose's arrival time of the record, not the inference's
(the record's ``inferenceTime`` is): up to a buffer interval apart.

Resources: 7 for the cluster, 4 per team (topic, sink, its role and policy).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.iam_documents import Principal, Statement, assume_role, render_output
from infra.declarations.streaming import StreamingSettings
from lifecycle.events import topic_name

IAM_TLS_PORT = 9098  # MSK's SASL/IAM listener inside the VPC (MSK Developer Guide, port info)
EVENTS_PREFIX = "capture/events/teams/{team}/"
# Broker settings (MSK custom configuration): no topic appears unless declared here.
SERVER_PROPERTIES = {
    "auto.create.topics.enable": "false",
    "delete.topic.enable": "true",
}


def topic_arn(cluster_arn: str, topic: str) -> str:
    """``arn:aws:kafka:<region>:<account>:topic/<cluster>/<uuid>/<topic>`` from the cluster's
    ``...:cluster/<cluster>/<uuid>`` (MSK Developer Guide, IAM access control: resources)."""
    return f"{cluster_arn.replace(':cluster/', ':topic/', 1)}/{topic}"


def group_arn(cluster_arn: str, group: str) -> str:
    return f"{cluster_arn.replace(':cluster/', ':group/', 1)}/{group}"


def producer_statements(cluster_arn: str, topic: str) -> list[Statement]:
    """Connect, and write (idempotently) to one topic: no other topic, no reads, no admin."""
    return [
        Statement(
            "KafkaConnect",
            ("kafka-cluster:Connect", "kafka-cluster:WriteDataIdempotently"),
            (cluster_arn,),
        ),
        Statement(
            "KafkaPublish",
            ("kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"),
            (topic_arn(cluster_arn, topic),),
        ),
    ]


def consumer_statements(cluster_arn: str, topic: str, group: str) -> list[Statement]:
    """Read one topic as members of consumer groups named ``group`` (a group ARN, ``*``
    allowed in its last part)."""
    return [
        Statement("KafkaConnect", ("kafka-cluster:Connect",), (cluster_arn,)),
        Statement(
            "KafkaRead",
            (
                "kafka-cluster:DescribeTopic",
                "kafka-cluster:DescribeTopicDynamicConfiguration",
                "kafka-cluster:ReadData",
            ),
            (topic_arn(cluster_arn, topic),),
        ),
        Statement(
            "KafkaGroup",
            ("kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"),
            (group_arn(cluster_arn, group),),
        ),
    ]


def sink_statements(
    cluster_arn: str, topic: str, bucket_arn: str, team: str, kms_key_arn: str
) -> list[Statement]:
    """Firehose reading one topic (its consumer group is its own, named by the service, so any
    group of this cluster) and writing the team's events prefix only."""
    prefix = EVENTS_PREFIX.format(team=team)
    return [
        *consumer_statements(cluster_arn, topic, "*"),
        Statement(
            "MskCluster", ("kafka:DescribeCluster", "kafka:DescribeClusterV2"), (cluster_arn,)
        ),
        # GetBootstrapBrokers takes no resource type (Service Authorization Reference).
        Statement("MskBrokers", ("kafka:GetBootstrapBrokers",), ("*",)),
        Statement(
            "WriteEvents",
            ("s3:PutObject", "s3:AbortMultipartUpload"),
            (f"{bucket_arn}/{prefix}*",),
        ),
        Statement("BucketLocation", ("s3:GetBucketLocation", "s3:ListBucket"), (bucket_arn,)),
        Statement("EncryptEvents", ("kms:GenerateDataKey", "kms:Decrypt"), (kms_key_arn,)),
    ]


class PredictionStream(PlatformComponent):
    TYPE = "mlplat:streaming:PredictionStream"

    def __init__(
        self,
        name: str,
        *,
        environment: str,
        settings: StreamingSettings,
        teams: Sequence[str],
        vpc_id: pulumi.Input[str],
        vpc_cidr: str,
        private_subnet_ids: Sequence[pulumi.Input[str]],
        kms_key_arn: pulumi.Input[str],
        capture_bucket_arn: pulumi.Input[str],
        account: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, opts=opts)
        self._account = account
        self.cluster = self._cluster(
            name, environment, settings, vpc_id, vpc_cidr, private_subnet_ids, kms_key_arn
        )
        self.cluster_arn: pulumi.Output[str] = self.cluster.arn
        # SASL/IAM over TLS (port 9098): what the events gateway connects to.
        self.bootstrap_brokers: pulumi.Output[str] = self.cluster.bootstrap_brokers_sasl_iam
        aws.msk.ClusterPolicy(
            f"{name}-policy",
            cluster_arn=self.cluster.arn,
            policy=render_output(
                lambda arn: [
                    Statement(
                        "FirehoseConnects",
                        (
                            "kafka:CreateVpcConnection",
                            "kafka:GetBootstrapBrokers",
                            "kafka:DescribeCluster",
                            "kafka:DescribeClusterV2",
                        ),
                        (arn,),
                        principal=Principal.service("firehose.amazonaws.com"),
                        conditions={"StringEquals": {"aws:SourceAccount": account}},
                    )
                ],
                self.cluster.arn,
            ),
            opts=self.child_opts(),
        )
        self.topics = {
            team: self._team(name, environment, team, settings, kms_key_arn, capture_bucket_arn)
            for team in sorted(teams)
        }
        self.register_outputs(
            {
                "clusterArn": self.cluster.arn,
                "topics": self.topics,
                "bootstrapBrokers": self.bootstrap_brokers,
            }
        )

    def _cluster(self, name, environment, settings, vpc_id, vpc_cidr, subnets, kms_key_arn):
        group = aws.ec2.SecurityGroup(
            f"{name}-brokers",
            description="MSK brokers: SASL/IAM over TLS from the VPC only",
            vpc_id=vpc_id,
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": IAM_TLS_PORT,
                    "to_port": IAM_TLS_PORT,
                    "cidr_blocks": [vpc_cidr],
                    "description": "Kafka clients in the VPC (IAM auth, TLS)",
                }
            ],
            egress=[],
            opts=self.child_opts(),
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-broker-logs",
            name=f"/mlplat/{environment}/msk",
            retention_in_days=30,
            opts=self.child_opts(),
        )
        configuration = aws.msk.Configuration(
            f"{name}-configuration",
            name=f"mlplat-{environment}-events",
            kafka_versions=[settings.kafka_version],
            server_properties="\n".join(f"{k}={v}" for k, v in SERVER_PROPERTIES.items()),
            opts=self.child_opts(),
        )
        return aws.msk.Cluster(
            f"{name}-cluster",
            cluster_name=f"mlplat-{environment}-events",
            kafka_version=settings.kafka_version,
            number_of_broker_nodes=settings.brokers,
            broker_node_group_info={
                "instance_type": settings.broker_instance_type,
                "client_subnets": list(subnets),
                "security_groups": [group.id],
                "storage_info": {"ebs_storage_info": {"volume_size": settings.broker_storage_gb}},
                "connectivity_info": {
                    "public_access": {"type": "DISABLED"},
                    # Firehose's private connection (multi-VPC connectivity, IAM only).
                    "vpc_connectivity": {"client_authentication": {"sasl": {"iam": True}}},
                },
            },
            client_authentication={
                "sasl": {"iam": True, "scram": False},
                "unauthenticated": False,
            },
            encryption_info={
                "encryption_at_rest_kms_key_arn": kms_key_arn,
                "encryption_in_transit": {"client_broker": "TLS", "in_cluster": True},
            },
            configuration_info={
                "arn": configuration.arn,
                "revision": configuration.latest_revision,
            },
            logging_info={
                "broker_logs": {"cloudwatch_logs": {"enabled": True, "log_group": logs.name}}
            },
            opts=self.child_opts(),
        )

    def _team(self, name, environment, team, settings, kms_key_arn, bucket_arn):
        owned = self.child_opts()
        topic = topic_name(environment, team)
        aws.msk.Topic(
            f"{name}-{team}-topic",
            cluster_arn=self.cluster.arn,
            name=topic,
            partition_count=settings.partitions_per_team,
            replication_factor=settings.replication_factor,
            configs=json.dumps(
                {
                    "retention.ms": str(settings.retention_hours * 3600 * 1000),
                    "cleanup.policy": "delete",
                    "min.insync.replicas": str(max(1, settings.replication_factor - 1)),
                },
                sort_keys=True,
            ),
            opts=owned,
        )
        role = aws.iam.Role(
            f"{name}-{team}-sink",
            name=f"mlplat-{environment}-{team}-events-sink",
            assume_role_policy=assume_role(
                Principal.service("firehose.amazonaws.com"),
                conditions={"StringEquals": {"aws:SourceAccount": self._account}},
            ),
            opts=owned,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-{team}-sink-access",
            role=role.id,
            policy=render_output(
                lambda cluster, bucket, key: sink_statements(cluster, topic, bucket, team, key),
                self.cluster.arn,
                bucket_arn,
                kms_key_arn,
            ),
            opts=owned,
        )
        aws.kinesis.FirehoseDeliveryStream(
            f"{name}-{team}-sink-stream",
            name=f"mlplat-{environment}-{team}-events",
            destination="extended_s3",
            msk_source_configuration={
                "msk_cluster_arn": self.cluster.arn,
                "topic_name": topic,
                "authentication_configuration": {"connectivity": "PRIVATE", "role_arn": role.arn},
            },
            extended_s3_configuration={
                "bucket_arn": bucket_arn,
                "role_arn": role.arn,
                "kms_key_arn": kms_key_arn,
                "prefix": EVENTS_PREFIX.format(team=team)
                + "!{partitionKeyFromQuery:model}/events/!{timestamp:yyyy/MM/dd/HH}/",
                "error_output_prefix": EVENTS_PREFIX.format(team=team)
                + "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/",
                "file_extension": ".jsonl",
                "buffering_interval": 300,
                # Dynamic partitioning needs at least 64 MB buffers.
                "buffering_size": 64,
                "dynamic_partitioning_configuration": {"enabled": True},
                "processing_configuration": {
                    "enabled": True,
                    "processors": [
                        {
                            "type": "MetadataExtraction",
                            "parameters": [
                                {
                                    "parameter_name": "MetadataExtractionQuery",
                                    "parameter_value": "{model:.model}",
                                },
                                {
                                    "parameter_name": "JsonParsingEngine",
                                    "parameter_value": "JQ-1.6",
                                },
                            ],
                        },
                        {
                            "type": "AppendDelimiterToRecord",
                            "parameters": [
                                {"parameter_name": "Delimiter", "parameter_value": "\\n"}
                            ],
                        },
                    ],
                },
            },
            opts=self.child_opts(depends_on=[policy]),
        )
        return topic
