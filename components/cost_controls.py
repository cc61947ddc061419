"""Spending watched before the bill arrives: AWS Budgets, their alert topic, the billing alarm.

- One budget for the environment, filtered on the ``mlplat:environment`` cost allocation tag
  (``user:mlplat:environment$<env>``), so stacks sharing an account each measure their own
  spend, and one per team, filtered on ``mlplat:team`` (``user:mlplat:team$<team>``); each
  notifies on ACTUAL and FORECASTED spend at every ``BudgetSettings.thresholds_percent``.
  Budgets' ``TagKeyValue`` filter takes ``user:<key>$<value>`` (AWS, "Creating budget filters",
  cost-management/latest/userguide/budgets-create-filters.html; hashicorp/terraform-provider-aws
  #40987). Values within one filter are alternatives, so a team budget cannot also require the
  environment tag: in an account shared by several environments it counts the team's spend in
  all of them (one account per environment avoids it).
- A tag filters a budget only once it is an *active cost allocation tag*. The stack does not
  activate them: AWS lists a tag key only after resources carrying it were billed (up to 24 h),
  so activating on the first ``up`` fails (terraform-provider-aws #29068, #31442); only the
  management account of an organization may activate (2i2c-org/infrastructure #4932); and the
  setting is account-wide, so a stack that owned it would deactivate it for every other stack
  on destroy. ``COST_ALLOCATION_TAGS`` lists what to activate; ``mlplat prerequisites`` checks it.
- Notifications go to an SNS topic encrypted with its own customer key. AWS Budgets and
  CloudWatch are admitted by the key policy (to encrypt) and by the topic policy (to publish);
  the configured emails subscribe to it. Endpoint alarms (observability) publish here too.
- CloudWatch publishes ``AWS/Billing EstimatedCharges`` only in us-east-1, and an alarm's actions
  must be in the alarm's region, so the billing alarm, its topic and that topic's key live in
  us-east-1 through an explicit provider, whatever the environment's region. The metric exists
  only once the account's billing alerts preference is on (Billing preferences, or the Billing
  API's ``BILLING_ALERTS`` feature; ``mlplat prerequisites`` checks it): the alarm treats missing
  data as breaching, so a switched-off metric alarms instead of sitting silently OK.

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
from infra.declarations.tags import TAG_ENVIRONMENT, TAG_TEAM

BILLING_REGION = "us-east-1"
BUDGETS_SERVICE = "budgets.amazonaws.com"
CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"
NOTIFICATION_TYPES = ("ACTUAL", "FORECASTED")
# The tag keys the budgets filter on: each must be an active cost allocation tag.
COST_ALLOCATION_TAGS = (TAG_ENVIRONMENT, TAG_TEAM)
# EstimatedCharges arrives a few times a day: a day-long window always holds a datapoint while
# billing alerts are on, so "missing" means switched off, not merely between two updates. The
# price: at a month's start the previous month's total stays in the window for up to a day.
BILLING_ALARM_PERIOD_SECONDS = 86_400


def tag_cost_filter(key: str, value: str) -> dict:
    """Budgets' filter on a user cost allocation tag: ``user:<key>$<value>``."""
    if key not in COST_ALLOCATION_TAGS:
        raise ValueError(f"{key} is not among the cost allocation tags to activate")
    return {"name": "TagKeyValue", "values": [f"user:{key}${value}"]}


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
            self._budget(
                f"{name}-environment",
                settings.monthly_budget_usd,
                tag_cost_filter(TAG_ENVIRONMENT, spec.name.value),
                None,
                alerts_policy,
            )
        ] + [
            self._budget(
                f"{name}-team-{team.name}",
                team.monthly_budget_usd,
                tag_cost_filter(TAG_TEAM, team.name),
                team.name,
                alerts_policy,
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
        self, name: str, limit: Decimal, cost_filter: dict, team: str | None, topic_policy
    ) -> aws.budgets.Budget:
        return aws.budgets.Budget(
            name,
            name=name,
            budget_type="COST",
            limit_amount=str(limit),
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filters=[cost_filter],
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
                f"({limit} USD; EstimatedCharges covers the whole account), or no billing data "
                "arrived for a day: switch on billing alerts in the account's Billing preferences."
            ),
            namespace="AWS/Billing",
            metric_name="EstimatedCharges",
            dimensions={"Currency": "USD"},
            statistic="Maximum",
            period=BILLING_ALARM_PERIOD_SECONDS,
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=float(limit),
            # A metric that never arrives must not read as "within budget" (see the docstring).
            treat_missing_data="breaching",
            alarm_actions=[self.billing_topic_arn],
            ok_actions=[self.billing_topic_arn],
            opts=self.child_opts(provider=provider),
        )
