"""Who may invoke which model: one caller role per team (platform layer).

A team's caller role may invoke its own team's SageMaker endpoints and no other's, and read any
team's registry records (resolving a route is read-only, across teams). What it may invoke is
scoped twice: by the endpoint name prefix ``mlplat-<env>-<team>-`` and by the ``mlplat:team``
tag the endpoint carries, because a prefix alone would let ``fraud`` reach ``fraud-ops``'s
``mlplat-<env>-fraud-ops-...`` endpoints. A team's multi-model endpoints host only that team's
models (placement groups by team), so scoping the endpoint scopes every ``TargetModel`` on it;
AWS also offers the ``sagemaker:TargetModel`` condition key on InvokeEndpoint (Service
Authorization Reference, Amazon SageMaker), which is what a per-model caller would add.

Who assumes it: pods of the team's namespace running as the service account ``model-caller``
(IRSA), and IAM roles of the account tagged with the team (``aws:PrincipalTag/mlplat:team``;
team deployers can create roles only with their own team's tag).

EKS routes are reached through the team's internal load balancers, which admit the VPC's CIDR
only (``alb.ingress.kubernetes.io/inbound-cidrs``) and, over HTTPS, only requests bearing an
access token with the team's scope (``components/route_auth.py``). The token is obtained with the
team's OAuth client credentials, which this role alone (of the platform's roles) may read: its
Secrets Manager secret, and the platform key through Secrets Manager for that secret.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.cluster import irsa_statement
from components.iam_documents import Principal, Statement, render, render_output
from components.route_auth import read_secret_statements
from infra.declarations.tags import TAG_TEAM, Ownership

CALLER_SERVICE_ACCOUNT = "model-caller"
INVOKE_ACTIONS = ("sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync")


def caller_role_name(environment: str, team: str) -> str:
    return f"mlplat-{environment}-{team}-caller"


def caller_statements(
    environment: str,
    team: str,
    region: str,
    account: str,
    registry_table_arn: str,
    credentials: tuple[str, str] | None = None,
) -> list[Statement]:
    """``credentials``: the team's route credentials secret ARN and the key encrypting it."""
    endpoints = f"arn:aws:sagemaker:{region}:{account}:endpoint/mlplat-{environment}"
    route_credentials = read_secret_statements(*credentials, region) if credentials else []
    return [
        Statement(
            "InvokeTeamModels",
            INVOKE_ACTIONS,
            (f"{endpoints}-{team}-*",),
            conditions={"StringEquals": {f"aws:ResourceTag/{TAG_TEAM}": team}},
        ),
        Statement("ResolveAnyModel", ("dynamodb:GetItem",), (registry_table_arn,)),
        Statement("DescribeAnyEndpoint", ("sagemaker:DescribeEndpoint",), (f"{endpoints}-*",)),
        *route_credentials,
    ]


def caller_trust(provider_arn: str, issuer: str, account: str, team: str) -> str:
    return render(
        [
            irsa_statement(provider_arn, issuer, team, CALLER_SERVICE_ACCOUNT, sid="TeamPods"),
            Statement(
                "TeamRoles",
                ("sts:AssumeRole",),
                principal=Principal.account(account),
                conditions={"StringEquals": {f"aws:PrincipalTag/{TAG_TEAM}": team}},
            ),
        ]
    )


class ModelCaller(PlatformComponent):
    TYPE = "mlplat:identity:ModelCaller"

    def __init__(
        self,
        name: str,
        *,
        environment: str,
        team: str,
        region: str,
        account: str,
        oidc_provider_arn: pulumi.Input[str],
        oidc_issuer: pulumi.Input[str],
        registry_table_arn: pulumi.Input[str],
        credentials_secret_arn: pulumi.Input[str] | None = None,
        kms_key_arn: pulumi.Input[str] | None = None,
        opts=None,
    ) -> None:
        super().__init__(name, owner=Ownership(team=team), opts=opts)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=caller_role_name(environment, team),
            assume_role_policy=pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(
                lambda v: caller_trust(v[0], v[1], account, team)
            ),
            max_session_duration=3600,
            opts=self.child_opts(),
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=render_output(
                lambda table, secret, key: caller_statements(
                    environment,
                    team,
                    region,
                    account,
                    table,
                    (secret, key) if secret and key else None,
                ),
                registry_table_arn,
                credentials_secret_arn or "",
                kms_key_arn or "",
            ),
            opts=self.child_opts(),
        )
        self.arn: pulumi.Output[str] = self.role.arn
        self.register_outputs({"arn": self.arn})
