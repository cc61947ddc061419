"""Budgets per environment and per team, their encrypted topic, and the us-east-1 billing alarm."""

from __future__ import annotations

import importlib
import json

import pytest

from components.cost_controls import COST_ALLOCATION_TAGS, tag_cost_filter
from infra.loader import load_environment, read_stack_config, settings_data
from mlplat import prerequisites
from tests.data.conftest import STACKS, resources


def _by_urn(export: dict) -> dict[str, dict]:
    return {r["urn"]: r for r in export["deployment"]["resources"]}


def _provider_region(export: dict, resource: dict) -> str:
    provider_urn = resource["provider"].rsplit("::", 1)[0]
    return _by_urn(export)[provider_urn]["inputs"]["region"]


@pytest.mark.parametrize("stack", STACKS)
def test_budgets_per_environment_and_team_notify_actual_and_forecasted(exports, stack):
    export = exports[stack]
    settings = settings_data(read_stack_config(stack))["budget"]
    thresholds = settings.get("thresholdsPercent", [80, 100])
    teams = importlib.import_module(f"stacks.{stack}").teams
    topic = next(
        t
        for t in resources(export, "aws:sns/topic:Topic")
        if t["inputs"]["name"] == f"mlplat-{stack}-alerts"
    )
    budgets = {
        b["inputs"]["name"]: b["inputs"] for b in resources(export, "aws:budgets/budget:Budget")
    }
    expected = {
        f"mlplat-{stack}-environment": (f"mlplat:environment${stack}", settings["monthlyBudgetUsd"])
    } | {
        f"mlplat-{stack}-team-{t.name}": (f"mlplat:team${t.name}", t.monthly_budget_usd)
        for t in teams
    }
    assert set(budgets) == set(expected)
    for name, (tag, limit) in expected.items():
        budget = budgets[name]
        assert (budget["budgetType"], budget["timeUnit"], budget["limitUnit"]) == (
            "COST",
            "MONTHLY",
            "USD",
        )
        assert float(budget["limitAmount"]) == float(limit)
        # Budgets' cost allocation tag filter: user:<key>$<value>. An unfiltered environment
        # budget would measure every stack sharing the account.
        assert budget["costFilters"] == [{"name": "TagKeyValue", "values": [f"user:{tag}"]}]
        got = sorted((n["notificationType"], n["threshold"]) for n in budget["notifications"])
        assert got == sorted((kind, t) for kind in ("ACTUAL", "FORECASTED") for t in thresholds)
        # The thresholds are percentages of the limit, crossed upwards (80 is 80%, not $80).
        assert {(n["thresholdType"], n["comparisonOperator"]) for n in budget["notifications"]} == {
            ("PERCENTAGE", "GREATER_THAN")
        }
        assert all(
            n["subscriberSnsTopicArns"] == [topic["outputs"]["arn"]]
            for n in budget["notifications"]
        )


def _statements(text: str) -> list[dict]:
    return json.loads(text)["Statement"]


@pytest.mark.parametrize("stack", STACKS)
def test_alert_topics_are_encrypted_and_the_services_may_use_them(exports, stack):
    export = exports[stack]
    emails = settings_data(read_stack_config(stack))["budget"]["alertEmails"]
    keys = {k["outputs"]["arn"]: k for k in resources(export, "aws:kms/key:Key")}
    for topic_name, services in (
        (f"mlplat-{stack}-alerts", {"budgets.amazonaws.com", "cloudwatch.amazonaws.com"}),
        (f"mlplat-{stack}-billing", {"cloudwatch.amazonaws.com"}),
    ):
        topic = next(
            t for t in resources(export, "aws:sns/topic:Topic") if t["inputs"]["name"] == topic_name
        )
        key = keys[topic["inputs"]["kmsMasterKeyId"]]
        (grant,) = [s for s in _statements(key["inputs"]["policy"]) if "Service" in s["Principal"]]
        assert (
            set(
                grant["Principal"]["Service"]
                if isinstance(grant["Principal"]["Service"], list)
                else [grant["Principal"]["Service"]]
            )
            == services
        )
        assert set(grant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
        (policy,) = [
            p
            for p in resources(export, "aws:sns/topicPolicy:TopicPolicy")
            if p["inputs"]["arn"] == topic["outputs"]["arn"]
        ]
        (publish,) = _statements(policy["inputs"]["policy"])
        assert publish["Action"] == "sns:Publish" and publish["Resource"] == topic["outputs"]["arn"]
        account = load_environment(stack, read_stack_config(stack)).settings.account_id
        assert publish["Condition"]["StringEquals"]["aws:SourceAccount"] == account
        subscriptions = [
            s["inputs"]
            for s in resources(export, "aws:sns/topicSubscription:TopicSubscription")
            if s["inputs"]["topic"] == topic["outputs"]["arn"]
        ]
        assert sorted(s["endpoint"] for s in subscriptions) == sorted(emails)
        assert {s["protocol"] for s in subscriptions} == {"email"}


@pytest.mark.parametrize("stack", STACKS)
def test_the_billing_alarm_and_its_topic_live_in_us_east_1(exports, stack):
    export = exports[stack]
    (alarm,) = [
        a
        for a in resources(export, "aws:cloudwatch/metricAlarm:MetricAlarm")
        if a["inputs"].get("namespace") == "AWS/Billing"
    ]
    inputs = alarm["inputs"]
    assert (inputs["metricName"], inputs["dimensions"]) == ("EstimatedCharges", {"Currency": "USD"})
    # It fires when the month's charges pass the environment's budget.
    budget = settings_data(read_stack_config(stack))["budget"]["monthlyBudgetUsd"]
    assert inputs["comparisonOperator"] == "GreaterThanThreshold"
    assert float(inputs["threshold"]) == float(budget)
    assert _provider_region(export, alarm) == "us-east-1"
    (topic,) = [
        t
        for t in resources(export, "aws:sns/topic:Topic")
        if t["outputs"]["arn"] in inputs["alarmActions"]
    ]
    assert (
        _provider_region(export, topic) == "us-east-1"
    )  # alarm actions must be in the alarm's region
    key = next(
        k
        for k in resources(export, "aws:kms/key:Key")
        if k["outputs"]["arn"] == topic["inputs"]["kmsMasterKeyId"]
    )
    assert _provider_region(export, key) == "us-east-1"
    # The rest of the stack stays in the environment's region (prod is us-west-2).
    region = read_stack_config(stack)["aws:region"]
    alerts = next(
        t
        for t in resources(export, "aws:sns/topic:Topic")
        if t["inputs"]["name"] == f"mlplat-{stack}-alerts"
    )
    assert _provider_region(export, alerts) == region


@pytest.mark.parametrize("stack", STACKS)
def test_budgets_filter_only_on_tags_the_prerequisites_check_activates(exports, stack):
    """A budget on a tag that is not an active cost allocation tag tracks $0."""
    used = {
        value.removeprefix("user:").split("$", 1)[0]
        for budget in resources(exports[stack], "aws:budgets/budget:Budget")
        for cost_filter in budget["inputs"]["costFilters"]
        for value in cost_filter["values"]
    }
    assert used == set(COST_ALLOCATION_TAGS)
    assert set(prerequisites.required_cost_allocation_tags()) == used
    # The stack itself does not activate them (account-wide, refused before first use).
    assert not resources(exports[stack], "aws:costexplorer/costAllocationTag:CostAllocationTag")


def test_a_budget_filter_on_an_unactivated_tag_is_refused():
    with pytest.raises(ValueError, match="cost allocation tags"):
        tag_cost_filter("mlplat:model", "churn-predictor")


@pytest.mark.parametrize("stack", STACKS)
def test_the_billing_alarm_is_not_ok_when_billing_data_never_arrives(exports, stack):
    (alarm,) = [
        a["inputs"]
        for a in resources(exports[stack], "aws:cloudwatch/metricAlarm:MetricAlarm")
        if a["inputs"].get("namespace") == "AWS/Billing"
    ]
    # Billing alerts switched off: no datapoint ever. Missing data must alarm, and the window
    # must span a day, since AWS sends the metric only a few times a day.
    assert alarm["treatMissingData"] == "breaching"
    assert alarm["period"] * alarm["evaluationPeriods"] >= 86_400
    assert alarm["okActions"] == alarm["alarmActions"]
    assert "billing alerts" in alarm["alarmDescription"]
