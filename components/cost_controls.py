"""Spending watched before the bill arrives: AWS Budgets, their alert topic, the billing alarm.

- One budget for the environment (no filter: what the account spends) and one per team,
  filtered on the ``mlplat:team`` cost allocation tag (``user:mlplat:team$<team>``); each notifies
  on ACTUAL and FORECASTED spend at every ``BudgetSettings.thresholds_percent``.
- Notifications go to an SNS topic encrypted with its own customer key. AWS Budgets and
  CloudWatch are admitted by the key policy (to encrypt) and by the topic policy (to publish);
  the configured emails subscribe to it. Endpoint alarms (observability) publish here too.
- CloudWatch publishes ``AWS/Billing EstimatedCharges`` only in us-east-1, and an alarm's actions
  must be in the alarm's region, so the billing alarm, its topic and that topic's key live in
  us-east-1 through an explicit provider, whatever the environment's region.

Attributes: ``alerts_topic_arn`` (the regional topic), ``billing_topic_arn``, ``budgets``.
"""

from __future__ import annotations

from decimal import Decimal

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.encryption import PlatformKey
from components.iam_documents import Principal, Statement, render_output
from infra.declarations import EnvironmentSpec
from infra.tagging import TAG_TEAM

BILLING_REGION = "us-east-1"
BUDGETS_SERVICE = "budgets.amazonaws.com"
CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"
NOTIFICATION_TYPES = ("ACTUAL", "FORECASTED")


def team_cost_filter(team: str) -> dict:
    """Budgets' filter on a user cost allocation tag: ``user:<key>$<value>``."""
    return {"name": "TagKeyValue", "values": [f"user:{TAG_TEAM}${team}"]}


def budget_notifications(thresholds: tuple[int, ...], topic_arn: pulumi.Input[str]) -> list[dict]:
    return [
        {
            "comparison_operator": "GREATER_THAN",
            "notification_type": kind,
            "threshold": threshold,
            "threshold_type": "PERCENTAGE",
            "subscriber_sns_topic_arns": [topic_arn],
        }
        for kind in NOTIFICATION_TYPES
        for threshold in thresholds
    ]


def topic_policy_statements(
    topic_arn: str, account: str, services: tuple[str, ...]
) -> list[Statement]:
    return [
        Statement(
            "AllowServicesToPublish",
            ("sns:Publish",),
            (topic_arn,),
            principal=Principal.service(*services),
            conditions={"StringEquals": {"aws:SourceAccount": account}},
        )
    ]


class CostControls(PlatformComponent):
    TYPE = "mlplat:cost_controls:CostControls"

    def __init__(
        self,
        name: str,
        *,
        spec: EnvironmentSpec,
        account: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, opts=opts)
        self._spec = spec
        self._account = account
        settings = spec.settings.budget
        self.alerts_topic_arn, alerts_policy = self._topic(
            f"{name}-alerts", services=(BUDGETS_SERVICE, CLOUDWATCH_SERVICE), opts=self.child_opts()
        )
        self.budgets = [
            self._budget(f"{name}-environment", settings.monthly_budget_usd, None, alerts_policy)
        ] + [
            self._budget(
                f"{name}-team-{team.name}", team.monthly_budget_usd, team.name, alerts_policy
            )
            for team in spec.teams
        ]
        billing_provider = aws.Provider(
            f"{name}-{BILLING_REGION}", region=BILLING_REGION, opts=self.child_opts()
        )
        self.billing_topic_arn, _ = self._topic(
            f"{name}-billing",
            services=(CLOUDWATCH_SERVICE,),
            opts=self.child_opts(provider=billing_provider),
        )
        self.billing_alarm = self._billing_alarm(settings.monthly_budget_usd, billing_provider)
        self.register_outputs(
            {
                "alertsTopicArn": self.alerts_topic_arn,
                "billingTopicArn": self.billing_topic_arn,
                "budgets": [budget.name for budget in self.budgets],
            }
        )

    def _topic(self, name: str, *, services: tuple[str, ...], opts: pulumi.ResourceOptions):
        """An encrypted topic the services may publish to, with the alert emails subscribed."""
        key = PlatformKey(
            name,
            description=f"{name} notifications",
            protect=self._spec.is_production,
            account=self._account,
            service_principals=services,
            opts=opts,
        )
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=name,
            kms_master_key_id=key.arn,
            opts=opts,
        )
        policy = aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=render_output(
                lambda arn, account: topic_policy_statements(arn, account, services),
                topic.arn,
                self._account,
            ),
            opts=opts,
        )
        for index, email in enumerate(self._spec.settings.budget.alert_emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=opts,
            )
        return topic.arn, policy

    def _budget(
        self, name: str, limit: Decimal, team: str | None, topic_policy
    ) -> aws.budgets.Budget:
        return aws.budgets.Budget(
            name,
            name=name,
            budget_type="COST",
            limit_amount=str(limit),
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filters=[team_cost_filter(team)] if team else None,
            notifications=budget_notifications(
                self._spec.settings.budget.thresholds_percent, self.alerts_topic_arn
            ),
            tags={TAG_TEAM: team} if team else None,
            # Budgets checks it may publish when the notification is created.
            opts=self.child_opts(depends_on=[topic_policy]),
        )

    def _billing_alarm(self, limit: Decimal, provider: aws.Provider) -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            f"{self.name}-estimated-charges",
            name=f"{self.name}-estimated-charges",
            alarm_description=(
                f"Estimated charges this month exceed the {self._spec.name.value} budget "
                f"({limit} USD); EstimatedCharges covers the whole account."
            ),
            namespace="AWS/Billing",
            metric_name="EstimatedCharges",
            dimensions={"Currency": "USD"},
            statistic="Maximum",
            period=21600,  # AWS publishes the metric every few hours
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=float(limit),
            treat_missing_data="notBreaching",
            alarm_actions=[self.billing_topic_arn],
            opts=self.child_opts(provider=provider),
        )
