"""Each team's alert topic: where its models' alerts go (AMP's alert manager and the CloudWatch
alarms of its endpoints), never a shared inbox.

One customer key for the environment's team topics, usable by the two publishers (an encrypted
topic needs the publisher to be allowed ``kms:GenerateDataKey*``/``kms:Decrypt``); each topic's
policy admits them with the source account pinned. AMP also reads the topic's attributes before
publishing (AMP user guide, "Set up permissions for sending alerts to Amazon SNS":
``sns:Publish`` and ``sns:GetTopicAttributes`` for ``aps.amazonaws.com``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.encryption import PlatformKey
from components.iam_documents import Principal, Statement, render_output
from infra.declarations import Team

AMP_SERVICE = "aps.amazonaws.com"
CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"


def team_topic_name(environment: str, team: str) -> str:
    return f"mlplat-{environment}-{team}-alerts"


def team_topic_statements(topic_arn: str, account: str) -> list[Statement]:
    source = {"StringEquals": {"aws:SourceAccount": account}}
    return [
        Statement(
            "AmpAlertManagerPublishes",
            ("sns:Publish", "sns:GetTopicAttributes"),
            (topic_arn,),
            principal=Principal.service(AMP_SERVICE),
            conditions=source,
        ),
        Statement(
            "CloudWatchAlarmsPublish",
            ("sns:Publish",),
            (topic_arn,),
            principal=Principal.service(CLOUDWATCH_SERVICE),
            conditions=source,
        ),
    ]


class TeamAlertTopics(PlatformComponent):
    """``topic_arns``: team -> its topic's ARN; ``policies``: what publishers must wait for."""

    TYPE = "mlplat:team_alerts:TeamAlertTopics"

    def __init__(
        self,
        name: str,
        *,
        environment: str,
        teams: Sequence[Team],
        account: pulumi.Input[str],
        protect: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, opts=opts)
        key = PlatformKey(
            f"{name}-key",
            description=f"mlplat {environment} team alert topics",
            protect=protect,
            account=account,
            service_principals=(AMP_SERVICE, CLOUDWATCH_SERVICE),
            opts=self.child_opts(),
        )
        self.topic_arns: dict[str, pulumi.Output[str]] = {}
        self.policies: list[aws.sns.TopicPolicy] = []
        for team in teams:
            owned = self.child_opts()
            topic = aws.sns.Topic(
                f"{name}-{team.name}",
                name=team_topic_name(environment, team.name),
                kms_master_key_id=key.arn,
                tags={"mlplat:team": team.name},
                opts=owned,
            )
            self.policies.append(
                aws.sns.TopicPolicy(
                    f"{name}-{team.name}-policy",
                    arn=topic.arn,
                    policy=render_output(team_topic_statements, topic.arn, account),
                    opts=owned,
                )
            )
            for index, email in enumerate(team.alert_emails):
                aws.sns.TopicSubscription(
                    f"{name}-{team.name}-email-{index}",
                    topic=topic.arn,
                    protocol="email",
                    endpoint=email,
                    opts=owned,
                )
            self.topic_arns[team.name] = topic.arn
        self.register_outputs({"topicArns": self.topic_arns})
