"""The lifecycle's three roles per team, each scoped to the team's prefixes and resources.

- ``pipeline``: SageMaker runs the team's pipelines and their jobs as it (one role: a pipeline
  passes its role to its steps). Reads the team's capture, baselines, drift configs and the data
  its models declare; writes only under the team's retraining and drift-report prefixes;
  publishes ``mlplat/Drift`` metrics; updates the team's registry items; registers versions into
  the team's models' package groups only. SageMaker names the jobs a pipeline starts
  ``pipelines-<execution id>-<step>-<suffix>``, so job ARNs are scoped by that prefix.
- ``scheduler``: EventBridge Scheduler starts the team's pipelines and nothing else.
- ``events``: EventBridge rules start the team's retraining pipelines and invoke the team's API
  destination.
The two EventBridge trusts carry ``aws:SourceAccount`` (confused deputy).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.iam_documents import Statement
from components.lifecycle.events import DRIFT_NAMESPACE
from components.serving.execution_role import repository_arn
from infra.declarations.data_access import LIFECYCLE_USES, external_paths


@dataclass(frozen=True)
class TeamPrefixes:
    """Where a team's lifecycle reads and writes, as S3 key prefixes (ending in ``/``)."""

    team: str

    @property
    def capture(self) -> str:
        return f"capture/teams/{self.team}/"

    @property
    def baselines(self) -> str:
        return f"baselines/teams/{self.team}/"

    @property
    def configs(self) -> str:
        # Under the team's own prefix: the team's deployer writes the drift configs.
        return f"teams/{self.team}/lifecycle/"

    @property
    def retraining(self) -> str:
        return f"retraining/teams/{self.team}/"

    @property
    def drift_reports(self) -> str:
        return f"drift/teams/{self.team}/"

    def model_retraining(self, model: str) -> str:
        return f"{self.retraining}{model}/"


def declared_data(models) -> list[str]:
    """The S3 URIs a team's models declare for the lifecycle to read: training and evaluation
    data, and S3 drift baselines (the pipeline role's reads use them)."""
    return [
        path.uri
        for m in models
        for path in external_paths(m)
        if path.use in LIFECYCLE_USES
    ]


def s3_object_arn(uri: str) -> str:
    """``s3://bucket/prefix`` -> ``arn:aws:s3:::bucket/prefix*``."""
    return "arn:aws:s3:::" + uri.removeprefix("s3://").rstrip("*") + "*"


def pipeline_statements(
    *,
    role_arn: str,
    team: str,
    environment: str,
    region: str,
    account: str,
    artifacts_bucket_arn: str,
    capture_bucket_arn: str,
    kms_key_arn: str,
    registry_table_arn: str,
    package_groups: list[str],
    declared_data: list[str],
    images: list[str],
) -> list[Statement]:
    prefixes = TeamPrefixes(team)
    sagemaker = f"arn:aws:sagemaker:{region}:{account}"
    reads = (
        f"{capture_bucket_arn}/{prefixes.capture}*",
        f"{artifacts_bucket_arn}/{prefixes.baselines}*",
        f"{artifacts_bucket_arn}/{prefixes.configs}*",
        f"{artifacts_bucket_arn}/{prefixes.retraining}*",
        *sorted({s3_object_arn(uri) for uri in declared_data}),
    )
    statements = [
        Statement("ReadTeamInputs", ("s3:GetObject",), reads),
        Statement(
            "ListTeamInputs",
            ("s3:ListBucket",),
            tuple(sorted({capture_bucket_arn, artifacts_bucket_arn} | _buckets(declared_data))),
        ),
        Statement(
            "WriteTeamOutputs",
            ("s3:PutObject", "s3:AbortMultipartUpload"),
            (
                f"{artifacts_bucket_arn}/{prefixes.retraining}*",
                f"{artifacts_bucket_arn}/{prefixes.drift_reports}*",
            ),
        ),
        Statement(
            "UsePlatformKey",
            ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
            (kms_key_arn,),
        ),
        # Encrypted job volumes: SageMaker creates a grant for the instance's volume.
        Statement(
            "GrantKeyToJobVolumes",
            ("kms:CreateGrant",),
            (kms_key_arn,),
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
        Statement(
            "PublishDriftMetrics",
            ("cloudwatch:PutMetricData",),
            ("*",),  # PutMetricData takes no resource; the namespace is the scope
            conditions={"StringEquals": {"cloudwatch:namespace": DRIFT_NAMESPACE}},
        ),
        Statement(
            "RecordTeamDrift",
            ("dynamodb:UpdateItem",),
            (registry_table_arn,),
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": (f"{team}/*",)}},
        ),
        Statement(
            "RunPipelineJobs",
            (
                "sagemaker:CreateProcessingJob",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:AddTags",
            ),
            (
                f"{sagemaker}:processing-job/pipelines-*",
                f"{sagemaker}:training-job/pipelines-*",
            ),
        ),
        Statement(
            "PassOwnRole",
            ("iam:PassRole",),
            (role_arn,),
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        Statement(
            "WriteJobLogs",
            ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
            (
                f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/ProcessingJobs:*",
                f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/TrainingJobs:*",
            ),
        ),
        *(
            [
                Statement(
                    "PullJobImages",
                    ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
                    tuple(sorted({repository_arn(image) for image in images})),
                )
            ]
            if images  # none: the caller grants pulls its own way (the team's boundary)
            else []
        ),
        Statement("EcrLogin", ("ecr:GetAuthorizationToken",), ("*",)),
    ]
    if package_groups:
        statements.append(
            Statement(
                "RegisterTeamVersions",
                ("sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage"),
                tuple(
                    arn
                    for group in sorted(package_groups)
                    for arn in (
                        f"{sagemaker}:model-package-group/{group.lower()}",
                        f"{sagemaker}:model-package/{group.lower()}/*",
                    )
                ),
            )
        )
    return statements


def _buckets(uris: list[str]) -> set[str]:
    return {"arn:aws:s3:::" + uri.removeprefix("s3://").split("/", 1)[0] for uri in uris}


def start_pipelines_statements(sid: str, pipeline_arns: list[str]) -> list[Statement]:
    return [Statement(sid, ("sagemaker:StartPipelineExecution",), tuple(sorted(pipeline_arns)))]


def invoke_destination_statement(destination_arn: str) -> Statement:
    # InvokeApiDestination's resource is the destination ARN (Service Authorization Reference,
    # EventBridge: "api-destination/<name>"; the ARN AWS returns ends in a UUID).
    return Statement("CallGitHubDestination", ("events:InvokeApiDestination",), (destination_arn,))
