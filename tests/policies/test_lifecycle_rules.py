"""The lifecycle's guardrails, both sides: a compliant resource passes, one changed property fails
with that rule's name (pipeline definitions come from the real builder)."""

from __future__ import annotations

import copy
import json

import pytest
from policy_cases import changed, in_stack, resource, tags
from test_rules import rule_names, violated

from components.lifecycle.definitions import RetrainingPipelineInputs, retraining_definition

ROLE = "arn:aws:iam::123456789012:role/mlplat-prod-fraud-lc-pipeline"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-1111-2222-3333-444455556666"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:mlplat-prod-fraud-alerts"


def definition(spot: bool = True) -> dict:
    return retraining_definition(
        RetrainingPipelineInputs(
            ROLE, KEY, "s3://mlplat-prod-artifacts/retraining/teams/fraud/", spot
        )
    )


def pipeline(document: dict | None = None) -> dict:
    return resource(
        "aws:sagemaker/pipeline:Pipeline",
        "fraud-retrain",
        {
            "pipelineName": "mlplat-prod-fraud-retrain",
            "pipelineDisplayName": "mlplat-prod-fraud-retrain",
            "roleArn": ROLE,
            "pipelineDefinition": json.dumps(document or definition()),
            "tags": tags(mlplat_team="fraud"),
        },
    )


def schedule() -> dict:
    return resource(
        "aws:scheduler/schedule:Schedule",
        "fraud-drift-0",
        {
            "name": "drift-0",
            "groupName": "mlplat-prod-fraud",
            "scheduleExpression": "rate(1 day)",
            "flexibleTimeWindow": {"mode": "OFF"},
        },
    )


def drift_alarm() -> dict:
    return resource(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "fraud-drift-fraud-scorer",
        {
            "name": "mlplat-prod-fraud-drift-fraud-scorer",
            "namespace": "mlplat/Drift",
            "metricName": "DriftDetected",
            "comparisonOperator": "GreaterThanOrEqualToThreshold",
            "evaluationPeriods": 1,
            "period": 3600,
            "statistic": "Maximum",
            "threshold": 1,
            "alarmActions": [TOPIC],
            "tags": tags(mlplat_team="fraud", mlplat_model="fraud-scorer"),
        },
    )


def _train(document: dict) -> dict:
    return next(s for s in document["Steps"] if s["Type"] == "Training")["Arguments"]


def without_checkpoints() -> dict:
    document = definition()
    del _train(document)["CheckpointConfig"]
    return document


def without_max_wait() -> dict:
    document = definition()
    del _train(document)["StoppingCondition"]["MaxWaitTimeInSeconds"]
    return document


def wait_below_runtime() -> dict:
    document = definition()
    _train(document)["StoppingCondition"].update(
        MaxRuntimeInSeconds=7200, MaxWaitTimeInSeconds=3600
    )
    return document


def spot_nested_in_a_condition() -> dict:
    """A spot training step in a condition's branch, without checkpoints: still judged."""
    document = definition()
    nested = copy.deepcopy(next(s for s in document["Steps"] if s["Type"] == "Training"))
    nested["Name"] = "TrainAgain"
    del nested["Arguments"]["CheckpointConfig"]
    condition = next(s for s in document["Steps"] if s["Type"] == "Condition")
    condition["Arguments"]["ElseSteps"].append(nested)
    return document


@pytest.mark.parametrize(
    "document",
    [without_checkpoints, without_max_wait, wait_below_runtime, spot_nested_in_a_condition],
)
def test_spot_training_must_checkpoint_and_wait_long_enough(document):
    rule = "sagemaker-spot-training-checkpoints"
    assert violated(pipeline(), rule=rule) == []
    assert rule_names(violated(pipeline(document()), rule=rule)) == {rule}


def test_on_demand_training_needs_no_checkpoints():
    rule = "sagemaker-spot-training-checkpoints"
    on_demand = definition(spot=False)
    assert "CheckpointConfig" not in _train(on_demand)
    assert violated(pipeline(on_demand), rule=rule) == []


@pytest.mark.parametrize(
    ("factory", "path", "value"),
    [
        (pipeline, "tags", tags()),
        (schedule, "groupName", "default"),
        (schedule, "groupName", None),
    ],
)
def test_pipelines_are_tagged_with_their_team_and_schedules_live_in_a_group(factory, path, value):
    rule = "lifecycle-pipelines-and-schedules-tagged"
    assert violated(factory(), rule=rule) == []
    assert rule_names(violated(changed(factory(), path, value), rule=rule)) == {rule}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("alarmActions", []),
        ("alarmActions", ["arn:aws:sns:eu-west-1:123456789012:mlplat-prod-alerts"]),
        ("alarmActions", ["arn:aws:sns:eu-west-1:123456789012:mlplat-prod-growth-alerts"]),
        ("tags", tags()),
    ],
)
def test_drift_alarms_notify_their_team(path, value):
    rule = "drift-alarm-notifies-team"
    assert violated(drift_alarm(), rule=rule) == []
    assert rule_names(violated(changed(drift_alarm(), path, value), rule=rule)) == {rule}


def test_other_alarms_are_not_drift_alarms():
    rule = "drift-alarm-notifies-team"
    other = changed(changed(drift_alarm(), "namespace", "AWS/SageMaker"), "tags", tags())
    assert violated(other, rule=rule) == []


# --- what each rule says, on each shape it covers ----------------------------------------------


def messages(entry: dict, rule: str) -> list[str]:
    return [v.message for v in violated(entry, rule=rule)]


def spot_in_if_steps() -> dict:
    """The same as spot_nested_in_a_condition, in the branch taken when the condition holds."""
    document = spot_nested_in_a_condition()
    condition = next(s for s in document["Steps"] if s["Type"] == "Condition")
    condition["Arguments"]["IfSteps"].append(condition["Arguments"]["ElseSteps"].pop())
    return document


def after_a_malformed_step() -> dict:
    document = without_checkpoints()
    document["Steps"].insert(0, "not a step")
    return document


def wait(seconds: int, runtime: int = 3600) -> dict:
    document = definition()
    _train(document)["StoppingCondition"].update(
        MaxRuntimeInSeconds=runtime, MaxWaitTimeInSeconds=seconds
    )
    return document


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (without_checkpoints, ["step Train: spot training without CheckpointConfig.S3Uri"]),
        (after_a_malformed_step, ["step Train: spot training without CheckpointConfig.S3Uri"]),
        (spot_in_if_steps, ["step TrainAgain: spot training without CheckpointConfig.S3Uri"]),
        (
            without_max_wait,
            ["step Train: spot training without StoppingCondition.MaxWaitTimeInSeconds"],
        ),
        (
            wait_below_runtime,
            ["step Train: MaxWaitTimeInSeconds 3600 < MaxRuntimeInSeconds 7200"],
        ),
        (lambda: wait(3599), ["step Train: MaxWaitTimeInSeconds 3599 < MaxRuntimeInSeconds 3600"]),
        # MaxWaitTimeInSeconds equal to MaxRuntimeInSeconds is allowed (SageMaker API Reference,
        # StoppingCondition: "equal to or greater than MaxRuntimeInSeconds")
        (lambda: wait(3600), []),
        (lambda: wait(3601), []),
    ],
)
def test_spot_training_messages_name_the_step_and_the_setting(document, expected):
    rule = "sagemaker-spot-training-checkpoints"
    assert messages(pipeline(document()), rule) == expected


def test_a_pipeline_definition_that_is_not_json_is_reported():
    broken = changed(pipeline(), "pipelineDefinition", "{not json")
    assert messages(broken, "sagemaker-spot-training-checkpoints") == [
        "pipelineDefinition is not JSON"
    ]


@pytest.mark.parametrize(
    ("factory", "path", "value", "expected"),
    [
        (pipeline, "tags", tags(), "pipeline without a mlplat:team tag"),
        (pipeline, "tags", None, "pipeline without a mlplat:team tag"),
        (schedule, "groupName", "default", "schedule in the default group, which carries no tags"),
        (schedule, "groupName", "", "schedule in the default group, which carries no tags"),
        (schedule, "groupName", None, "schedule in the default group, which carries no tags"),
    ],
)
def test_untagged_lifecycle_resources_are_named(factory, path, value, expected):
    rule = "lifecycle-pipelines-and-schedules-tagged"
    assert messages(changed(factory(), path, value), rule) == [expected]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "alarmActions",
            [],
            "drift alarm does not notify mlplat-prod-fraud-alerts (actions: none)",
        ),
        (
            "alarmActions",
            ["mlplat-prod-fraud-alerts", "arn:aws:sns:eu-west-1:1:mlplat-prod-alerts"],
            "drift alarm does not notify mlplat-prod-fraud-alerts (actions: "
            "mlplat-prod-fraud-alerts, arn:aws:sns:eu-west-1:1:mlplat-prod-alerts)",
        ),
        ("tags", tags(), "drift alarm without a mlplat:team tag: whose model is it?"),
        ("tags", None, "drift alarm without a mlplat:team tag: whose model is it?"),
    ],
)
def test_a_drift_alarm_says_which_topic_it_misses(path, value, expected):
    assert messages(changed(drift_alarm(), path, value), "drift-alarm-notifies-team") == [expected]


def test_a_drift_alarm_notifies_its_team_among_other_actions():
    actions = ["arn:aws:sns:eu-west-1:1:mlplat-prod-alerts", TOPIC]
    alarm = changed(drift_alarm(), "alarmActions", actions)
    assert messages(alarm, "drift-alarm-notifies-team") == []
    staging = changed(drift_alarm(), "alarmActions", [TOPIC.replace("-prod-", "-staging-")])
    assert messages(in_stack(staging, "staging"), "drift-alarm-notifies-team") == []
