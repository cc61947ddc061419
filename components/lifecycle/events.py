"""The names and EventBridge patterns that link the lifecycle's pieces, as plain values (tested
against sample AWS events with moto's pattern matcher).

- A drift alarm per model: ``mlplat-<env>-<team>-drift-<model>`` on ``mlplat/Drift``
  ``DriftDetected`` (the drift job's metric, ``lifecycle/drift/publish.py``).
- "CloudWatch Alarm State Change" of that alarm into ``ALARM`` starts the team's retraining
  pipeline with the model's parameters. (EventBridge hands a SageMaker pipeline target only its
  ``SageMakerPipelineParameters``, never the event: the target's parameters name the model.)
- "SageMaker Model Package State Change" of one of the team's package groups to ``Approved``
  goes to GitHub's ``repository_dispatch`` through an API destination; the input transformer
  writes the body GitHub expects, naming the package group, version, ARN and the approved
  artifact (the package's ``ModelDataUrl``, which the promotion makes the declaration serve).
Event shapes: CloudWatch User Guide, "Alarm events and EventBridge"; SageMaker Developer Guide,
"Events that Amazon SageMaker AI sends to Amazon EventBridge" (model package state change).
"""

from __future__ import annotations

import hashlib
import json
import re

DRIFT_NAMESPACE = "mlplat/Drift"
DRIFT_METRIC = "DriftDetected"
DISPATCH_EVENT_TYPE = "mlplat-model-approved"
NAME_LIMIT = 64  # EventBridge rules, connections, API destinations, schedule groups


def bounded(name: str, limit: int = NAME_LIMIT) -> str:
    """``name``, or its head plus a digest of the whole when it is longer than ``limit``."""
    if len(name) <= limit:
        return name
    return f"{name[: limit - 9]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def drift_alarm_name(environment: str, team: str, model: str) -> str:
    # CloudWatch alarm names take 255 characters: never bounded.
    return f"mlplat-{environment}-{team}-drift-{model}"


def package_group_name(environment: str, model: str) -> str:
    """The model's package group (``components/serving/hosted_model.py`` names it so too)."""
    return f"mlplat-{environment}-{model}"


def drift_alarm_pattern(alarm_name: str) -> dict:
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": [alarm_name], "state": {"value": ["ALARM"]}},
    }


def approval_pattern(package_groups: list[str]) -> dict:
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": sorted(package_groups),
            "ModelApprovalStatus": ["Approved"],
        },
    }


def dispatch_transformer(environment: str) -> dict:
    """``input_transformer`` of the promotion target: GitHub's repository_dispatch body."""
    template = json.dumps(
        {
            "event_type": DISPATCH_EVENT_TYPE,
            "client_payload": {
                "environment": environment,
                "package_group": "<group>",
                "package_version": "<version>",
                "package_arn": "<arn>",
                "model_data": "<model_data>",
            },
        }
    )
    return {
        "input_paths": {
            "group": "$.detail.ModelPackageGroupName",
            "version": "$.detail.ModelPackageVersion",
            "arn": "$.detail.ModelPackageArn",
            # The event's detail carries the package's InferenceSpecification (AWS's sample
            # "Model package state change" event); the retraining pipeline registers one
            # container, whose ModelDataUrl is the training job's output/model.tar.gz.
            # Input paths take array indices: EventBridge User Guide, "Amazon EventBridge input
            # transformation" (supported JSON path syntax: dot notation, ..., array indices).
            "model_data": "$.detail.InferenceSpecification.Containers[0].ModelDataUrl",
        },
        # A number without quotes: EventBridge substitutes the value as it is in the event.
        "input_template": template.replace('"<version>"', "<version>"),
    }


_PATH_STEP = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def render_template(template: str, paths: dict[str, str], event: dict) -> str:
    """What EventBridge sends for ``event`` (used by the tests): ``$.a.b`` paths, with array
    indices (``$.a.b[0].c``); a path the event lacks is a KeyError, not a guess."""
    for name, path in paths.items():
        value = event
        for step in path.removeprefix("$.").split("."):
            match = _PATH_STEP.fullmatch(step)
            if not match:
                raise ValueError(f"{path}: unsupported JSON path step {step!r}")
            value = value[match[1]]
            for index in re.findall(r"\[(\d+)\]", match[2]):
                value = value[int(index)]
        text = json.dumps(value) if not isinstance(value, str) else value
        template = template.replace(f"<{name}>", text)
    return template
