"""What the deploying roles need for batch jobs (components/batch.py, batch_tenancy.py) and
prediction events (components/streaming.py): the provider's calls for each of their resource
types (policies/provider_actions.json), scoped by the names those components give.

``pipeline_deploy``: the environment's deployers (every team's jobs, the Kafka cluster).
``team_pipeline_deploy``: a team's serving-stack deployer (its own batch wiring only; Kafka and
the batch namespaces are the platform's).
"""

from __future__ import annotations

from components.iam_documents import Statement


def batch_names(environment: str, team: str) -> str:
    """A team's batch schedule group and failed-run rule (components/batch.py) are named so."""
    return f"mlplat-{environment}-{team}-batch"


def scheduler_role_name(environment: str, team: str) -> str:
    """The role a team's schedules start jobs as: within IAM's 64 characters for a team name
    of 34 (infra/declarations/model.py) in staging."""
    return f"{batch_names(environment, team)}-start"


_VIRTUAL_CLUSTERS = (
    "emr-containers:DescribeVirtualCluster",
    "emr-containers:DeleteVirtualCluster",
    "emr-containers:DescribeJobTemplate",
    "emr-containers:DeleteJobTemplate",
    "emr-containers:ListTagsForResource",
    "emr-containers:TagResource",
    "emr-containers:UntagResource",
)
_SCHEDULES = (
    "scheduler:CreateSchedule",
    "scheduler:GetSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
)
_SCHEDULE_GROUPS = (
    "scheduler:CreateScheduleGroup",
    "scheduler:GetScheduleGroup",
    "scheduler:DeleteScheduleGroup",
    "scheduler:ListTagsForResource",
    "scheduler:TagResource",
    "scheduler:UntagResource",
)
_LOG_GROUPS = (
    "logs:CreateLogGroup",
    "logs:PutRetentionPolicy",
    "logs:DeleteRetentionPolicy",
    "logs:DeleteLogGroup",
    "logs:ListTagsForResource",
    "logs:TagResource",
    "logs:UntagResource",
)
_RULES = (
    "events:PutRule",
    "events:DescribeRule",
    "events:DeleteRule",
    "events:ListTargetsByRule",
    "events:ListTagsForResource",
    "events:TagResource",
    "events:UntagResource",
)
# Resource-less in the Service Authorization Reference: "*" is the only resource they take.
_CREATE_EMR = ("emr-containers:CreateVirtualCluster", "emr-containers:CreateJobTemplate")
_LOG_DELIVERY = (
    "logs:DescribeLogGroups",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
)
_KAFKA_CLUSTERS = (
    "kafka:CreateCluster",
    "kafka:DescribeCluster",
    "kafka:DescribeClusterV2",
    "kafka:ListTagsForResource",
    "kafka:UpdateBrokerCount",
    "kafka:UpdateBrokerStorage",
    "kafka:UpdateBrokerType",
    "kafka:UpdateClusterConfiguration",
    "kafka:UpdateClusterKafkaVersion",
    "kafka:UpdateConnectivity",
    "kafka:UpdateMonitoring",
    "kafka:UpdateSecurity",
    "kafka:DeleteCluster",
    "kafka:TagResource",
    "kafka:UntagResource",
    "kafka:PutClusterPolicy",
    "kafka:GetClusterPolicy",
    "kafka:DeleteClusterPolicy",
)
_KAFKA_CONFIGURATIONS = (
    "kafka:CreateConfiguration",
    "kafka:DescribeConfiguration",
    "kafka:DescribeConfigurationRevision",
    "kafka:UpdateConfiguration",
    "kafka:DeleteConfiguration",
)
_TOPICS = (
    "kafka-cluster:CreateTopic",
    "kafka-cluster:DescribeTopic",
    "kafka-cluster:DescribeTopicDynamicConfiguration",
    "kafka-cluster:AlterTopic",
    "kafka-cluster:AlterTopicDynamicConfiguration",
    "kafka-cluster:DeleteTopic",
)
_DELIVERY_STREAMS = (
    "firehose:CreateDeliveryStream",
    "firehose:DescribeDeliveryStream",
    "firehose:ListTagsForDeliveryStream",
    "firehose:UpdateDestination",
    "firehose:DeleteDeliveryStream",
    "firehose:TagDeliveryStream",
    "firehose:UntagDeliveryStream",
)


def _batch(
    sid: str, region: str, account: str, names: str, logs: str, tag: dict
) -> list[Statement]:
    """``names``: the schedule groups' and rules' names (a pattern), ``logs`` the log groups';
    ``tag``: the (key, value) the created and changed EMR resources carry."""
    key, value = next(iter(tag.items()))
    emr = f"arn:aws:emr-containers:{region}:{account}:"
    return [
        Statement(
            f"{sid}CreateBatchClusters",
            _CREATE_EMR,
            ("*",),
            conditions={"StringEquals": {f"aws:RequestTag/{key}": value}},
        ),
        Statement(
            f"{sid}BatchClusters",
            _VIRTUAL_CLUSTERS,
            (f"{emr}/virtualclusters/*", f"{emr}/jobtemplates/*"),
            conditions={"StringEquals": {f"aws:ResourceTag/{key}": value}},
        ),
        Statement(
            f"{sid}BatchSchedules",
            _SCHEDULES,
            (f"arn:aws:scheduler:{region}:{account}:schedule/{names}/*",),
        ),
        Statement(
            f"{sid}BatchScheduleGroups",
            _SCHEDULE_GROUPS,
            (f"arn:aws:scheduler:{region}:{account}:schedule-group/{names}",),
        ),
        Statement(
            f"{sid}BatchLogs", _LOG_GROUPS, (f"arn:aws:logs:{region}:{account}:log-group:{logs}",)
        ),
        Statement(f"{sid}BatchRules", _RULES, (f"arn:aws:events:{region}:{account}:rule/{names}",)),
    ]


def pipeline_deploy(sid: str, region: str, account: str, environment: str) -> list[Statement]:
    """Every team's batch wiring and the environment's Kafka cluster, topics and sinks."""
    prefix = f"mlplat-{environment}-"
    kafka = f"arn:aws:kafka:{region}:{account}"
    return [
        *_batch(
            sid,
            region,
            account,
            f"{prefix}*-batch",
            f"/mlplat/{environment}/*",
            {"mlplat:environment": environment},
        ),
        # MSK's CloudWatch broker logs are a vended log delivery: these take no resource.
        Statement(f"{sid}LogDelivery", _LOG_DELIVERY, ("*",)),
        Statement(
            f"{sid}KafkaClusters",
            _KAFKA_CLUSTERS,
            (f"{kafka}:cluster/{prefix}*/*", f"{kafka}:configuration/{prefix}*/*"),
        ),
        Statement(
            f"{sid}KafkaConfigurations",
            _KAFKA_CONFIGURATIONS,
            (f"{kafka}:configuration/{prefix}*/*",),
        ),
        Statement(
            f"{sid}KafkaBrokers",
            ("kafka:GetBootstrapBrokers", "kafka:DescribeClusterOperation"),
            ("*",),
        ),
        # Topics through MSK's topic API: authorised as a Kafka client of the cluster.
        Statement(
            f"{sid}KafkaTopicsConnect",
            ("kafka-cluster:Connect",),
            (f"{kafka}:cluster/{prefix}*/*",),
        ),
        Statement(f"{sid}KafkaTopics", _TOPICS, (f"{kafka}:topic/{prefix}*/*/*",)),
        Statement(
            f"{sid}EventSinks",
            _DELIVERY_STREAMS,
            (f"arn:aws:firehose:{region}:{account}:deliverystream/{prefix}*",),
        ),
    ]


def team_pipeline_deploy(region: str, account: str, environment: str, team: str) -> list[Statement]:
    """A team's batch wiring (components/batch.py) in its serving stack, nothing of another."""
    # Exact names, not prefixes: team "fraud"'s would be a prefix of team "fraud-ops"'s.
    names = batch_names(environment, team)
    return [
        *_batch(
            "Team",
            region,
            account,
            names,
            f"/mlplat/{environment}/batch/{team}",
            {"mlplat:team": team},
        ),
        # The provider reads a log group back by listing (DescribeLogGroups, by name prefix), an
        # action with no resource type (policies/provider_actions.json): "*", read only.
        Statement("TeamReadLogGroups", ("logs:DescribeLogGroups",), ("*",)),
        # Its schedules start jobs as the team's Scheduler role (components/batch.py).
        Statement(
            "PassTeamSchedulerRole",
            ("iam:PassRole",),
            (f"arn:aws:iam::{account}:role/{scheduler_role_name(environment, team)}",),
            conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        ),
    ]
