"""The lifecycle as the stack declares it (dev's export): pipeline definitions the service would
take, EventBridge patterns against AWS's sample events, the resources each model costs, and the
loop walked end to end: drift job -> metric -> alarm -> rule -> retraining pipeline ->
registration -> approval -> repository_dispatch -> the pull request's change to the declaration.
AWS calls are moto (CloudWatch, S3, DynamoDB) and botocore's Stubber (SageMaker), which checks
every request against the API's model."""

from __future__ import annotations

import copy
import json
import shutil
from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
import pytest
import yaml
from botocore.stub import Stubber
from moto import mock_aws
from moto.events.models import EventPattern

from components.lifecycle.definition_check import definition_problems
from components.lifecycle.events import DISPATCH_EVENT_TYPE, render_template
from infra.project import PROJECT_ROOT
from lifecycle.attribution import inference_id
from lifecycle.drift.baseline import baseline_path
from lifecycle.drift.job import main as drift_main
from lifecycle.drift.synthetic import capture_line, capture_path, write_baseline
from mlplat.promotion import promote
from tests.lifecycle.stores import create_registry_table

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
SCHEDULE = "aws:scheduler/schedule:Schedule"
LIFECYCLE = "mlplat:lifecycle:TeamLifecycle"
MODEL_LIFECYCLE = "mlplat:lifecycle:ModelLifecycle"


@pytest.fixture(scope="module")
def dev(stack_export):
    return stack_export("dev")["deployment"]["resources"]


def of_type(resources, type_):
    return [r for r in resources if r["type"] == type_]


def lifecycle_children(resources) -> list[dict]:
    parents = {r["urn"] for t in (LIFECYCLE, MODEL_LIFECYCLE) for r in of_type(resources, t)}
    return [r for r in resources if r.get("parent") in parents]


def declared_models():
    from infra.loader import load_environment, read_stack_config

    return load_environment("dev", read_stack_config("dev")).models


# --- pipeline definitions --------------------------------------------------------------------


def test_every_pipeline_definition_is_one_sagemaker_would_take(dev):
    pipelines = of_type(dev, PIPELINE)
    assert pipelines, "dev declares monitoring and retraining: it has pipelines"
    for pipeline in pipelines:
        assert definition_problems(json.loads(pipeline["inputs"]["pipelineDefinition"])) == []


def test_the_definition_check_refuses_what_the_service_would(dev):
    """The checker can fail: each broken copy of a real definition is refused, naming why."""
    retrain = next(
        json.loads(p["inputs"]["pipelineDefinition"])
        for p in of_type(dev, PIPELINE)
        if p["inputs"]["pipelineName"].endswith("-retrain")
    )

    def broken(edit) -> list[str]:
        document = copy.deepcopy(retrain)
        edit(document)
        return definition_problems(document)

    train = lambda d: d["Steps"][0]["Arguments"]  # noqa: E731
    assert any("RoleArn" in p for p in broken(lambda d: train(d).pop("RoleArn")))
    assert any(
        "InstanceCount" in p
        for p in broken(lambda d: train(d)["ResourceConfig"].update(InstanceCount="1"))
    )
    assert any("Unknown parameter" in p for p in broken(lambda d: train(d).update(Bogus=1)))
    assert any(
        "a String parameter where the API takes a integer" in p
        for p in broken(
            lambda d: train(d)["StoppingCondition"].update(
                MaxRuntimeInSeconds={"Get": "Parameters.ModelName"}
            )
        )
    )
    assert any(
        "no such parameter" in p
        for p in broken(
            lambda d: d["Parameters"].pop(
                d["Parameters"].index(
                    next(x for x in d["Parameters"] if x["Name"] == "TrainingImage")
                )
            )
        )
    )
    assert any("no such step" in p for p in broken(lambda d: d["Steps"][1].update(DependsOn=["X"])))
    assert any(
        "TrainingJobName" in p for p in broken(lambda d: train(d).update(TrainingJobName="x"))
    )
    assert any("Version" in p for p in broken(lambda d: d.update(Version="2019-01-01")))


def test_spot_retraining_checkpoints_and_waits_at_least_its_runtime(dev):
    for pipeline in of_type(dev, PIPELINE):
        for step in json.loads(pipeline["inputs"]["pipelineDefinition"])["Steps"]:
            arguments = step["Arguments"]
            if step["Type"] == "Training" and arguments["EnableManagedSpotTraining"]:
                assert arguments["CheckpointConfig"]["S3Uri"]
                assert "MaxWaitTimeInSeconds" in arguments["StoppingCondition"]


# --- what each model costs in resources (the serving stack's budget) --------------------------


def test_a_model_adds_only_the_resources_that_must_name_it(dev):
    """Per model: 1 alarm when monitored, 1 rule + 1 target when drift retrains it, 1 schedule
    when a schedule does, 1 package group for an EKS model that retrains; the rest is per
    team."""
    children = lifecycle_children(dev)
    for model in declared_models():
        if not (model.monitoring or model.retraining):
            continue
        own = [r for r in children if f"-{model.name}" in r["urn"].rsplit("::", 1)[-1]]
        expected = (
            (1 if model.monitoring else 0)
            + (2 if model.retraining and model.retraining.on_drift else 0)
            + (1 if model.retraining and model.retraining.schedule else 0)
            + (1 if model.retraining and model.serving == "eks" else 0)
        )
        assert len(own) == expected, (model.name, [r["type"] for r in own])
    teams = {r["urn"] for r in of_type(dev, LIFECYCLE)}
    per_team = [r for r in children if not any(f"-{m.name}" in r["urn"] for m in declared_models())]
    # Schedule group, 3 roles + 3 policies, drift pipeline, drift config + schedule, retraining
    # pipeline(s), connection, API destination, promotion rule + target.
    assert len(per_team) <= len(teams) * 18


# --- EventBridge patterns against AWS's sample events -------------------------------------------


def alarm_event(alarm: dict, state: str, account="123456789012", region="us-east-1") -> dict:
    """A "CloudWatch Alarm State Change" event in the shape AWS documents (CloudWatch User Guide,
    "Alarm events and EventBridge": sample single-metric alarm event)."""
    inputs = alarm["inputs"]
    return {
        "version": "0",
        "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": "2026-11-30T12:05:00Z",
        "region": region,
        "resources": [f"arn:aws:cloudwatch:{region}:{account}:alarm:{inputs['name']}"],
        "detail": {
            "alarmName": inputs["name"],
            "state": {
                "value": state,
                "reason": "Threshold Crossed: 1 datapoint [1.0] >= threshold (1.0).",
                "timestamp": "2026-11-30T12:05:00.000+0000",
            },
            "previousState": {"value": "OK", "timestamp": "2026-11-30T11:05:00.000+0000"},
            "configuration": {
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {
                                "namespace": inputs["namespace"],
                                "name": inputs["metricName"],
                                "dimensions": inputs["dimensions"],
                            },
                            "period": inputs["period"],
                            "stat": inputs["statistic"],
                        },
                        "returnData": True,
                    }
                ]
            },
        },
    }


def package_event(
    group: str,
    status: str,
    version: int = 4,
    model_data: str = "s3://mlplat-dev-artifacts/retraining/teams/t/job/output/model.tar.gz",
) -> dict:
    """A "SageMaker Model Package State Change" event, shaped as AWS's sample (SageMaker Developer
    Guide, "Events that Amazon SageMaker AI sends to Amazon EventBridge", Model package state
    change; awsdocs/amazon-sagemaker-developer-guide, automating-sagemaker-with-eventbridge.md):
    its detail carries the package's InferenceSpecification, one container with its
    ModelDataUrl (a training job's output/model.tar.gz)."""
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}"
    return {
        "version": "0",
        "id": "7f9b1b7c-8e4f-4e0e-9c61-0e6b9a1e1a01",
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2026-11-30T13:00:00Z",
        "region": "us-east-1",
        "resources": [arn],
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": version,
            "ModelPackageArn": arn,
            "CreationTime": "2026-11-30T12:40:00Z",
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/"
                        "sagemaker-scikit-learn:1.2-1-cpu-py3",
                        "ImageDigest": "sha256:" + "0" * 64,
                        "ModelDataUrl": model_data,
                    }
                ],
                "SupportedContentTypes": ["text/csv", "application/json"],
                "SupportedResponseMIMETypes": ["text/csv", "application/json"],
            },
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "CertifyForMarketplace": False,
            "ModelApprovalStatus": status,
            "MetadataProperties": {
                "GeneratedBy": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/"
                "mlplat-dev-t-retrain/execution/exec-1"
            },
            "LastModifiedTime": "2026-11-30T13:00:00Z",
        },
    }


def matches(rule: dict, event: dict) -> bool:
    return EventPattern.load(rule["inputs"]["eventPattern"]).matches_event(event)


def test_a_drift_alarm_rule_fires_on_its_alarm_entering_alarm_only(dev):
    alarms = {
        a["inputs"]["name"]: a
        for a in of_type(dev, ALARM)
        if a["inputs"].get("namespace") == "mlplat/Drift"
    }
    rules = [
        r
        for r in of_type(dev, RULE)
        if "CloudWatch Alarm State Change" in r["inputs"]["eventPattern"]
    ]
    assert rules
    for rule in rules:
        fired = [
            name for name, alarm in alarms.items() if matches(rule, alarm_event(alarm, "ALARM"))
        ]
        assert len(fired) == 1, (rule["inputs"]["name"], fired)
        assert not matches(rule, alarm_event(alarms[fired[0]], "OK"))
        assert not matches(rule, alarm_event(alarms[fired[0]], "INSUFFICIENT_DATA"))


def test_the_promotion_rule_fires_on_approval_of_its_teams_models_only(dev):
    promote_rules = {
        r["inputs"]["name"]: r
        for r in of_type(dev, RULE)
        if "Model Package State Change" in r["inputs"]["eventPattern"]
    }
    retrained = {m.name: m.team for m in declared_models() if m.retraining}
    for model, team in retrained.items():
        group = f"mlplat-dev-{model}"
        rule = promote_rules[f"mlplat-dev-{team}-promote"]
        assert matches(rule, package_event(group, "Approved"))
        assert not matches(rule, package_event(group, "PendingManualApproval"))
        assert not matches(rule, package_event(group, "Rejected"))
        for other, other_rule in promote_rules.items():
            if other != rule["inputs"]["name"]:
                assert not matches(other_rule, package_event(group, "Approved"))


# --- the loop, end to end -------------------------------------------------------------------------

MODEL = "fraud-scorer"
JOBS = "arn:aws:sagemaker:us-east-1:123456789012:"
START = datetime(2026, 11, 30, 10, tzinfo=UTC)
END = START + timedelta(hours=24)


def _resolve(value, parameters: dict, properties: dict):
    """A step's arguments as the service sends them: parameters typed, properties and
    functions evaluated."""
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            reference = value["Get"]
            if reference.startswith("Parameters."):
                return parameters[reference.removeprefix("Parameters.")]
            return properties[reference]
        if "Std:Join" in value:
            join = value["Std:Join"]
            return join["On"].join(str(_resolve(v, parameters, properties)) for v in join["Values"])
        return {k: _resolve(v, parameters, properties) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, parameters, properties) for v in value]
    return value


def _typed(definition: dict, given: list[dict]) -> dict:
    """Pipeline parameters as SageMaker types the strings EventBridge passes."""
    kinds = {p["Name"]: p["Type"] for p in definition["Parameters"]}
    values = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    convert = {"String": str, "Integer": int, "Float": float, "Boolean": lambda v: v == "true"}
    for item in given:
        assert item["name"] in kinds, f"{item['name']} is not a parameter of the pipeline"
        values[item["name"]] = convert[kinds[item["name"]]](item["value"])
    return values


def _declared_version(name: str) -> int:
    from infra.loader import load_environment, read_stack_config

    spec = load_environment("dev", read_stack_config("dev"))
    return next(m.version for m in spec.models if m.name == name)


def _run_drift_job(tmp_path, config_document: dict, monkeypatch) -> dict:
    """The team's drift job, on a capture where fraud-scorer drifted in one feature."""
    root = tmp_path / "opt/ml/processing"
    features = [f"f{i}" for i in range(5)]
    rng = np.random.default_rng(3)
    version = _declared_version(MODEL)  # whatever dev declares (a change may bump it)
    lines = []
    for i in range(800):
        row = rng.normal(size=5)
        row[1] += 1.0
        lines.append(
            capture_line(
                row, when=START + timedelta(seconds=60 * i), inference=inference_id(MODEL, version)
            )
        )
    path = capture_path(
        root / "input/capture", "mlplat-dev-cpu-sklearn", "AllTraffic", START, "part-0"
    )
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n")
    for model in config_document["models"]:
        write_baseline(
            baseline_path(root / "input/baselines", model, version if model == MODEL else 1),
            features,
            rng.normal(size=(2000, 5)),
        )
    config = {
        **config_document,
        "capture_dir": str(root / "input/capture"),
        "baseline_dir": str(root / "input/baselines"),
        "output_dir": str(root / "output/report"),
        "seed": 1,
    }
    config_file = root / "input/config/drift.json"
    config_file.parent.mkdir(parents=True)
    config_file.write_text(json.dumps(config))
    # As the drift pipeline runs it: the window ends at the execution's start.
    from components.lifecycle.definitions import DRIFT_WINDOW_END_ENV

    monkeypatch.setenv(DRIFT_WINDOW_END_ENV, END.isoformat())
    assert drift_main(["--config-file", str(config_file)]) == 0
    return json.loads((root / "output/report/drift-report.json").read_text())


def test_drift_to_alarm_to_retraining_to_registration_to_approval_to_promotion(
    dev, tmp_path, monkeypatch
):
    by_urn = {r["urn"]: r for r in dev}
    alarm = next(
        a for a in of_type(dev, ALARM) if a["inputs"].get("dimensions", {}).get("model") == MODEL
    )
    team = alarm["inputs"]["tags"]["mlplat:team"]

    # 1. The scheduled drift run: the schedule starts the team's drift pipeline with the config
    #    object the stack writes, and the job publishes the metric the alarm watches.
    schedule = next(
        s
        for s in of_type(dev, SCHEDULE)
        if s["inputs"]["groupName"] == f"mlplat-dev-{team}"
        and s["inputs"]["name"].startswith("drift")
    )
    config_uri = next(
        p["value"]
        for p in schedule["inputs"]["target"]["sagemakerPipelineParameters"]["pipelineParameters"]
        if p["name"] == "ConfigUri"
    )
    document = next(
        o for o in of_type(dev, OBJECT) if config_uri.endswith("/" + o["inputs"]["key"])
    )
    drift_pipeline = next(
        p
        for p in of_type(dev, PIPELINE)
        if p["outputs"]["arn"] == schedule["inputs"]["target"]["arn"]
    )
    assert (
        json.loads(drift_pipeline["inputs"]["pipelineDefinition"])["Steps"][0]["Type"]
        == "Processing"
    )
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        config = json.loads(document["inputs"]["content"])
        s3.create_bucket(Bucket=config["report_bucket"])
        create_registry_table(
            boto3.client("dynamodb", region_name="us-east-1"), config["registry_table"]
        )
        report = _run_drift_job(tmp_path, config, monkeypatch)
        assert next(m for m in report["models"] if m["model"] == MODEL)["status"] == "drift"

        # 2. The alarm, as declared, over what the job published.
        a = alarm["inputs"]
        datapoints = boto3.client("cloudwatch", region_name="us-east-1").get_metric_statistics(
            Namespace=a["namespace"],
            MetricName=a["metricName"],
            Dimensions=[{"Name": k, "Value": v} for k, v in a["dimensions"].items()],
            StartTime=END - timedelta(seconds=a["period"]),
            EndTime=END + timedelta(seconds=a["period"]),
            Period=a["period"],
            Statistics=[a["statistic"]],
        )["Datapoints"]
    assert a["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert max(d[a["statistic"]] for d in datapoints) >= a["threshold"]  # -> ALARM
    assert any(arn.endswith(f":mlplat-dev-{team}-alerts") for arn in a["alarmActions"])

    # 3. The alarm's state change matches one rule; its target starts the retraining pipeline
    #    with the model's own parameters.
    event = alarm_event(alarm, "ALARM")
    fired = [r for r in of_type(dev, RULE) if matches(r, event)]
    assert len(fired) == 1
    target = next(
        t for t in of_type(dev, TARGET) if t["inputs"]["rule"] == fired[0]["inputs"]["name"]
    )
    pipeline = next(
        p for p in of_type(dev, PIPELINE) if p["outputs"]["arn"] == target["inputs"]["arn"]
    )
    definition = json.loads(pipeline["inputs"]["pipelineDefinition"])
    given = target["inputs"]["sagemakerPipelineTarget"]["pipelineParameterLists"]
    parameters = _typed(definition, given)
    assert parameters["ModelName"] == MODEL
    assert parameters["ModelPackageGroup"] == f"mlplat-dev-{MODEL}"
    assert parameters["MaxWaitSeconds"] >= parameters["MaxRuntimeSeconds"]
    assert by_urn[pipeline["parent"]]["type"] == LIFECYCLE

    # 4. EventBridge starts the pipeline; the pipeline trains (spot, checkpoints), evaluates,
    #    and registers: each request is checked against SageMaker's API model by the Stubber.
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    steps = {s["Name"]: s for s in definition["Steps"]}
    condition = steps["MetricReachesMinimum"]["Arguments"]
    register = condition["IfSteps"][0]
    model_data = (
        f"s3://mlplat-dev-artifacts/retraining/teams/{team}/"
        "pipelines-exec-1-Train-a1b2c3/output/model.tar.gz"
    )
    properties = {
        "Steps.Train.ModelArtifacts.S3ModelArtifacts": model_data,
        "Execution.PipelineExecutionId": "exec-1",
    }
    training = _resolve(steps["Train"]["Arguments"], parameters, properties)
    evaluation = _resolve(steps["Evaluate"]["Arguments"], parameters, properties)
    registration = _resolve(register["Arguments"], parameters, properties)
    assert training["EnableManagedSpotTraining"] is True
    assert training["CheckpointConfig"]["S3Uri"].endswith(f"/{MODEL}/checkpoints/")
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "start_pipeline_execution",
            {"PipelineExecutionArn": f"{pipeline['outputs']['arn']}/execution/exec-1"},
            {
                "PipelineName": pipeline["inputs"]["pipelineName"],
                "PipelineParameters": [{"Name": p["name"], "Value": p["value"]} for p in given],
            },
        )
        stub.add_response(
            "create_training_job",
            {"TrainingJobArn": f"{JOBS}training-job/pipelines-exec-1-train"},
            {**training, "TrainingJobName": "pipelines-exec-1-train"},
        )
        stub.add_response(
            "create_processing_job",
            {"ProcessingJobArn": f"{JOBS}processing-job/pipelines-exec-1-evaluate"},
            {**evaluation, "ProcessingJobName": "pipelines-exec-1-evaluate"},
        )
        package_arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/mlplat-dev-{MODEL}/4"
        stub.add_response("create_model_package", {"ModelPackageArn": package_arn}, registration)
        stub.add_response(
            "update_model_package",
            {"ModelPackageArn": package_arn},
            {"ModelPackageArn": package_arn, "ModelApprovalStatus": "Approved"},
        )

        sagemaker.start_pipeline_execution(
            PipelineName=pipeline["inputs"]["pipelineName"],
            PipelineParameters=[{"Name": p["name"], "Value": p["value"]} for p in given],
        )
        sagemaker.create_training_job(**training, TrainingJobName="pipelines-exec-1-train")
        sagemaker.create_processing_job(**evaluation, ProcessingJobName="pipelines-exec-1-evaluate")
        # The condition: the evaluation reached the declared minimum (0.95 >= 0.92).
        assert condition["Conditions"][0]["Type"] == "GreaterThanOrEqualTo"
        assert _resolve(condition["Conditions"][0]["RightValue"], parameters, properties) <= 0.95
        sagemaker.create_model_package(**registration)
        assert registration["ModelApprovalStatus"] == "PendingManualApproval"
        assert registration["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == model_data

        # 5. A person approves it (the model is declared with manual approval).
        sagemaker.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Approved")
        stub.assert_no_pending_responses()

    # 6. The approval event reaches GitHub as the repository_dispatch the workflow listens for.
    approved = package_event(f"mlplat-dev-{MODEL}", "Approved", model_data=model_data)
    promote_rule = next(r for r in of_type(dev, RULE) if matches(r, approved))
    dispatch = next(
        t for t in of_type(dev, TARGET) if t["inputs"]["rule"] == promote_rule["inputs"]["name"]
    )
    assert "/dispatches" in next(
        d["inputs"]["invocationEndpoint"]
        for d in of_type(dev, "aws:cloudwatch/eventApiDestination:EventApiDestination")
        if d["outputs"]["arn"] == dispatch["inputs"]["arn"]
    )
    transformer = dispatch["inputs"]["inputTransformer"]
    body = json.loads(
        render_template(transformer["inputTemplate"], transformer["inputPaths"], approved)
    )
    workflow = yaml.safe_load((PROJECT_ROOT / ".github/workflows/promote-model.yml").read_text())
    on = workflow.get("on", workflow.get(True))
    assert body["event_type"] == DISPATCH_EVENT_TYPE in on["repository_dispatch"]["types"]
    workflow_text = (PROJECT_ROOT / ".github/workflows/promote-model.yml").read_text()
    for key in body["client_payload"]:
        assert f"client_payload.{key}" in workflow_text
    assert body["client_payload"]["model_data"] == model_data  # what was registered and approved

    # 7. The workflow's change: the declaration's version, bumped by one, and its artifact, the
    #    approved model data; nothing else.
    root = tmp_path / "repo"
    shutil.copytree(PROJECT_ROOT / "model_packages", root / "model_packages")
    payload = body["client_payload"]
    done = promote(
        payload["environment"],
        payload["package_group"],
        payload["package_arn"],
        root,
        model_data=payload["model_data"],
    )
    before = (PROJECT_ROOT / done.path).read_text()
    after = (root / done.path).read_text()
    assert done.model == MODEL and done.new_version == done.old_version + 1
    assert after == before.replace(
        f"version={done.old_version},", f"version={done.new_version},"
    ).replace(f'artifact="{done.old_artifact}"', f'artifact="{model_data}"')
    assert after != before and done.old_artifact != model_data
