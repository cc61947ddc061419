"""The role a team's SageMaker endpoints run as: it reads only that team's artifacts."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from infra.tagging import Ownership


def execution_policy(
    *, artifacts_bucket_arn: str, capture_bucket_arn: str, team: str, kms_key_arn: str, region: str, account: str
) -> str:
    """Least privilege: the team's model prefixes, its capture prefix, the key, image pulls, logs."""
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
            "Resource": ["arn:aws:ecr:*:*:repository/*"],
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
        opts=None,
    ) -> None:
        super().__init__(name, owner=Ownership(team=team), opts=opts)
        self.role = aws.iam.Role(f"{name}-role", assume_role_policy=SAGEMAKER_TRUST, opts=self.child_opts())
        document = pulumi.Output.all(artifacts_bucket_arn, capture_bucket_arn, kms_key_arn, account).apply(
            lambda values: execution_policy(
                artifacts_bucket_arn=values[0],
                capture_bucket_arn=values[1],
                team=team,
                kms_key_arn=values[2],
                region=region,
                account=values[3],
            )
        )
        aws.iam.RolePolicy(f"{name}-policy", role=self.role.id, policy=document, opts=self.child_opts())
        self.arn: pulumi.Output[str] = self.role.arn
        self.register_outputs({"arn": self.arn})
