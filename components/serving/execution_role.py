"""The role a team's SageMaker endpoints run as: it reads only that team's artifacts."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.iam_documents import Principal, Statement, assume_role, render_output
from infra.declarations.tags import Ownership


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


def execution_statements(
    *,
    artifacts_bucket_arn: str,
    capture_bucket_arn: str,
    team: str,
    kms_key_arn: str,
    region: str,
    account: str,
    images: list[str],
) -> list[Statement]:
    """Least privilege: the team's model prefixes, its capture prefix, the key, its images, logs."""
    statements = [
        Statement("ReadTeamModels", ("s3:GetObject",), (f"{artifacts_bucket_arn}/teams/{team}/*",)),
        Statement(
            "ListTeamModels",
            ("s3:ListBucket",),
            (artifacts_bucket_arn,),
            conditions={"StringLike": {"s3:prefix": (f"teams/{team}/*",)}},
        ),
        Statement(
            "WriteTeamCapture",
            ("s3:PutObject",),
            (f"{capture_bucket_arn}/capture/teams/{team}/*",),
        ),
        Statement("UsePlatformKey", ("kms:Decrypt", "kms:GenerateDataKey"), (kms_key_arn,)),
    ]
    if images:  # a team without endpoints (yet) pulls no image
        statements += [
            Statement(
                "PullServingImages",
                ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
                # Only the repositories of the images this team's endpoints run.
                tuple(sorted({repository_arn(image) for image in images})),
            ),
            # GetAuthorizationToken supports no resource-level permission (AWS documents "*").
            Statement("EcrLogin", ("ecr:GetAuthorizationToken",), ("*",)),
        ]
    return statements + [
        Statement(
            "WriteEndpointLogs",
            ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
            (f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/*",),
        ),
        Statement(
            "PublishEndpointMetrics",
            ("cloudwatch:PutMetricData",),
            ("*",),
            conditions={"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
        ),
    ]


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
        permissions_boundary: pulumi.Input[str] | None = None,
        opts=None,
    ) -> None:
        """``permissions_boundary``: the team's, in a serving stack (components/team_deployer)."""
        super().__init__(name, owner=Ownership(team=team), opts=opts)
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role(Principal.service("sagemaker.amazonaws.com")),
            permissions_boundary=permissions_boundary,
            opts=self.child_opts(),
        )
        document = render_output(
            lambda artifacts, capture, key, account_id: execution_statements(
                artifacts_bucket_arn=artifacts,
                capture_bucket_arn=capture,
                team=team,
                kms_key_arn=key,
                region=region,
                account=account_id,
                images=images,
            ),
            artifacts_bucket_arn,
            capture_bucket_arn,
            kms_key_arn,
            account,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=document, opts=self.child_opts()
        )
        # The ARN once the policy is in place: a model created with it (SageMaker checks the
        # role's access to its image and artifacts) waits for the policy, and is deleted first.
        self.arn: pulumi.Output[str] = pulumi.Output.all(self.role.arn, policy.id).apply(
            lambda values: values[0]
        )
        self.register_outputs({"arn": self.arn})
