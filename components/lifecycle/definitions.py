"""SageMaker Pipeline definitions (JSON, ``Version: 2020-12-01``) for a team's lifecycle, built
from plain values so they can be checked without AWS.

- The **drift pipeline**: one ``Processing`` step running ``python -m lifecycle.drift`` in the
  lifecycle image over the team's capture prefix, its baselines and a config file naming the
  models (a parameter: each schedule passes its own). The window ends at the execution's start.
- The **retraining pipeline**: ``Training`` (managed spot with checkpoints in S3, when spot) ->
  ``Evaluate`` (``Processing`` in the training image, writing ``evaluation.json``) -> a
  ``Condition`` on the evaluated metric -> ``RegisterModel`` into the model's package group with
  the approval status the model declares, or a ``Fail`` step naming the metric.
  Everything that differs per model is a pipeline parameter, so a team has one such pipeline
  (two when it mixes spot and on-demand: ``EnableManagedSpotTraining`` is a plain boolean).

Step ``Arguments`` are the request of the API the step calls (CreateProcessingJob,
CreateTrainingJob, CreateModelPackage) without the job name, which Pipelines supplies; values may
be ``{"Get": "Parameters.X"}``, ``{"Get": "Steps.S.<property>"}``, ``{"Get":
"Execution.StartDateTime"}`` or ``Std:JsonGet``/``Std:Join`` functions (SageMaker developer
guide, "Pipelines steps" and "Property files"; the SDK writes the same shapes).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFINITION_VERSION = "2020-12-01"
PROCESSING_ROOT = "/opt/ml/processing"
# The drift job's side of these (lifecycle/drift/config.py) reads them from here.
DRIFT_CONFIG_FILE = f"{PROCESSING_ROOT}/input/config/drift.json"
DRIFT_WINDOW_END_ENV = "MLPLAT_DRIFT_WINDOW_END"
EVALUATION_FILE = "evaluation.json"
# The evaluation script's contract: it writes {"metric": {"name": ..., "value": ...}} here.
EVALUATION_PATH = "metric.value"


def get(reference: str) -> dict:
    return {"Get": reference}


def param(name: str) -> dict:
    return get(f"Parameters.{name}")


@dataclass(frozen=True)
class DriftPipelineInputs:
    capture_uri: str  # s3://<capture bucket>/capture/teams/<team>/
    baselines_uri: str  # s3://<artifacts>/baselines/teams/<team>/
    default_config_uri: str
    reports_uri: str  # where the run's report folder is copied
    image: str
    role_arn: str
    kms_key_arn: str


def drift_definition(inputs: DriftPipelineInputs) -> dict:
    step = {
        "Name": "DetectDrift",
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": _one_instance(inputs.kms_key_arn),
            "AppSpecification": {
                "ImageUri": inputs.image,
                "ContainerEntrypoint": ["python3", "-m", "lifecycle.drift"],
            },
            "RoleArn": inputs.role_arn,
            "Environment": {DRIFT_WINDOW_END_ENV: get("Execution.StartDateTime")},
            "ProcessingInputs": [
                _processing_input("capture", inputs.capture_uri, "capture"),
                _processing_input("baselines", inputs.baselines_uri, "baselines"),
                # The config channel: the file lands where the job looks by default.
                _processing_input("config", param("ConfigUri"), "config"),
            ],
            "ProcessingOutputConfig": _output(
                "report", inputs.reports_uri, "output/report", inputs.kms_key_arn
            ),
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }
    return {
        "Version": DEFINITION_VERSION,
        "Parameters": [
            {"Name": "ConfigUri", "Type": "String", "DefaultValue": inputs.default_config_uri},
            {"Name": "InstanceType", "Type": "String", "DefaultValue": "ml.m5.large"},
        ],
        "Steps": [step],
    }


@dataclass(frozen=True)
class RetrainingPipelineInputs:
    role_arn: str
    kms_key_arn: str
    output_uri: str  # s3://<artifacts>/teams/<team>/retraining/
    spot: bool


# Parameters every retraining run is started with (a schedule or an EventBridge target gives
# the model's values); the defaults only make the definition valid on its own.
RETRAINING_PARAMETERS = (
    ("ModelName", "String", "unset"),
    ("ModelPackageGroup", "String", "unset"),
    ("TrainingImage", "String", "unset"),
    ("ServingImage", "String", "unset"),
    ("EntryPoint", "String", "train.py"),
    ("SourceUri", "String", "s3://unset/code/"),
    ("TrainingData", "String", "s3://unset/train/"),
    ("EvaluationData", "String", "s3://unset/test/"),
    ("CheckpointUri", "String", "s3://unset/checkpoints/"),
    ("InstanceType", "String", "ml.m5.xlarge"),
    ("MaxRuntimeSeconds", "Integer", 3600),
    ("MaxWaitSeconds", "Integer", 7200),
    ("MetricName", "String", "unset"),
    ("MetricMinimum", "Float", 0.0),
    ("ApprovalStatus", "String", "PendingManualApproval"),
)


def retraining_definition(inputs: RetrainingPipelineInputs) -> dict:
    stopping = {"MaxRuntimeInSeconds": param("MaxRuntimeSeconds")}
    training = {
        "AlgorithmSpecification": {
            "TrainingImage": param("TrainingImage"),
            "TrainingInputMode": "File",
        },
        "RoleArn": inputs.role_arn,
        # Framework containers run sagemaker_program from sagemaker_submit_directory.
        "HyperParameters": {
            "sagemaker_program": param("EntryPoint"),
            "sagemaker_submit_directory": param("SourceUri"),
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": param("TrainingData"),
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {
            "S3OutputPath": inputs.output_uri,
            "KmsKeyId": inputs.kms_key_arn,
        },
        "ResourceConfig": {
            "InstanceCount": 1,
            "InstanceType": param("InstanceType"),
            "VolumeSizeInGB": 30,
            "VolumeKmsKeyId": inputs.kms_key_arn,
        },
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": inputs.spot,
    }
    if inputs.spot:
        # Spot: the job may wait for capacity up to MaxWait (>= MaxRuntime, checked when
        # declared) and resumes from the last checkpoint after an interruption.
        stopping["MaxWaitTimeInSeconds"] = param("MaxWaitSeconds")
        training["CheckpointConfig"] = {
            "S3Uri": param("CheckpointUri"),
            "LocalPath": "/opt/ml/checkpoints",
        }
    model_data = get("Steps.Train.ModelArtifacts.S3ModelArtifacts")
    evaluate = {
        "Name": "Evaluate",
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": _one_instance(inputs.kms_key_arn),
            "AppSpecification": {
                "ImageUri": param("TrainingImage"),
                "ContainerEntrypoint": [
                    "python3",
                    f"{PROCESSING_ROOT}/input/code/evaluate.py",
                ],
                "ContainerArguments": ["--metric", param("MetricName")],
            },
            "RoleArn": inputs.role_arn,
            "ProcessingInputs": [
                _processing_input("model", model_data, "model"),
                _processing_input("test", param("EvaluationData"), "test"),
                _processing_input("code", param("SourceUri"), "code"),
            ],
            "ProcessingOutputConfig": _output(
                "evaluation",
                inputs.output_uri.rstrip("/") + "/evaluation",
                "evaluation",
                inputs.kms_key_arn,
            ),
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
        "PropertyFiles": [
            {
                "PropertyFileName": "Evaluation",
                "OutputName": "evaluation",
                "FilePath": EVALUATION_FILE,
            }
        ],
        "DependsOn": ["Train"],
    }
    register = {
        "Name": "Register",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": param("ModelPackageGroup"),
            "ModelApprovalStatus": param("ApprovalStatus"),
            "InferenceSpecification": {
                "Containers": [{"Image": param("ServingImage"), "ModelDataUrl": model_data}],
                "SupportedContentTypes": ["text/csv", "application/json"],
                "SupportedResponseMIMETypes": ["text/csv", "application/json"],
            },
            "CustomerMetadataProperties": {
                "mlplat:model": param("ModelName"),
                "mlplat:metric": param("MetricName"),
            },
        },
    }
    below = {
        "Name": "MetricBelowMinimum",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": {
                "Std:Join": {
                    "On": " ",
                    "Values": [
                        "the evaluated",
                        param("MetricName"),
                        "is below the declared minimum",
                        param("MetricMinimum"),
                    ],
                }
            }
        },
    }
    condition = {
        "Name": "MetricReachesMinimum",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": {
                        "Std:JsonGet": {
                            "PropertyFile": get("Steps.Evaluate.PropertyFiles.Evaluation"),
                            "Path": EVALUATION_PATH,
                        }
                    },
                    "RightValue": param("MetricMinimum"),
                }
            ],
            "IfSteps": [register],
            "ElseSteps": [below],
        },
        "DependsOn": ["Evaluate"],
    }
    return {
        "Version": DEFINITION_VERSION,
        "Parameters": [
            {"Name": name, "Type": kind, "DefaultValue": default}
            for name, kind, default in RETRAINING_PARAMETERS
            if inputs.spot or name not in ("MaxWaitSeconds", "CheckpointUri")
        ],
        "Steps": [
            {"Name": "Train", "Type": "Training", "Arguments": training},
            evaluate,
            condition,
        ],
    }


def _processing_input(name: str, uri, folder: str) -> dict:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": f"{PROCESSING_ROOT}/input/{folder}",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def _one_instance(kms_key_arn: str) -> dict:
    """One instance of the ``InstanceType`` parameter, its volume under the platform key."""
    return {
        "ClusterConfig": {
            "InstanceCount": 1,
            "InstanceType": param("InstanceType"),
            "VolumeSizeInGB": 30,
            "VolumeKmsKeyId": kms_key_arn,
        }
    }


def _output(name: str, uri: str, folder: str, kms_key_arn: str) -> dict:
    """One output, uploaded at the job's end under ``<uri>/<execution id>/``."""
    return {
        "Outputs": [
            {
                "OutputName": name,
                "S3Output": {
                    "S3Uri": {
                        "Std:Join": {
                            "On": "/",
                            "Values": [uri.rstrip("/"), get("Execution.PipelineExecutionId")],
                        }
                    },
                    "LocalPath": f"{PROCESSING_ROOT}/{folder}",
                    "S3UploadMode": "EndOfJob",
                },
            }
        ],
        "KmsKeyId": kms_key_arn,
    }
