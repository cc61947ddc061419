"""The role a team's SageMaker endpoints run as: it reads only that team's artifacts."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from infra.tagging import Ownership


def repository_arn(image: str) -> str:
    """``<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`` -> the repository's ARN."""
    registry, _, path = image.partition("/")
    parts = registry.split(".")
    if len(parts) < 6 or parts[1:3] != ["dkr", "ecr"]:
        raise ValueError(
            f"{image!r} is not an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repo>)"
        )
    repository = path.split("@", 1)[0].rsplit(":", 1)[0]
    return f"arn:aws:ecr:{parts[3]}:{parts[0]}:repository/{repository}"


def execution_policy(
    *,
    artifacts_bucket_arn: str,
    capture_bucket_arn: str,
    team: str,
    kms_key_arn: str,
    region: str,
    account: str,
    images: list[str],
) -> str:
    """Least privilege: the team's model prefixes, its capture prefix, the key, its images, logs."""
    statements = [
        {
            "Sid": "ReadTeamModels",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{artifacts_bucket_arn}/teams/{team}/*"],
        },
        {
            "Sid": "ListTeamModels",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [artifacts_bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": [f"teams/{team}/*"]}},
        },
        {
            "Sid": "WriteTeamCapture",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [f"{capture_bucket_arn}/capture/teams/{team}/*"],
        },
        {
            "Sid": "UsePlatformKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [kms_key_arn],
        },
        {
            "Sid": "PullServingImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            # Only the repositories of the images this team's endpoints run.
            "Resource": sorted({repository_arn(image) for image in images}),
        },
        {
            # GetAuthorizationToken supports no resource-level permission (AWS documents "*").
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken"],
            "Resource": ["*"],
        },
        {
            "Sid": "WriteEndpointLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/*"],
        },
        {
            "Sid": "PublishEndpointMetrics",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": ["*"],
            "Condition": {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
        },
    ]
    if not images:  # a team without endpoints (yet) pulls no image
        statements = [st for st in statements if st["Sid"] not in ("PullServingImages", "EcrLogin")]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


SAGEMAKER_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


class TeamExecutionRole(PlatformComponent):
    TYPE = "mlplat:serving:TeamExecutionRole"

    def __init__(
        self,
        name: str,
        *,
        team: str,
        artifacts_bucket_arn: pulumi.Input[str],
        capture_bucket_arn: pulumi.Input[str],
        kms_key_arn: pulumi.Input[str],
        region: str,
        account: pulumi.Input[str],
        images: list[str],
        opts=None,
    ) -> None:
        super().__init__(name, owner=Ownership(team=team), opts=opts)
        self.role = aws.iam.Role(
            f"{name}-role", assume_role_policy=SAGEMAKER_TRUST, opts=self.child_opts()
        )
        document = pulumi.Output.all(
            artifacts_bucket_arn, capture_bucket_arn, kms_key_arn, account
        ).apply(
            lambda values: execution_policy(
                artifacts_bucket_arn=values[0],
                capture_bucket_arn=values[1],
                team=team,
                kms_key_arn=values[2],
                region=region,
                account=values[3],
                images=images,
            )
        )
        aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=document, opts=self.child_opts()
        )
        self.arn: pulumi.Output[str] = self.role.arn
        self.register_outputs({"arn": self.arn})
