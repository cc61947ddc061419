"""Who may call a team's load-balanced routes: the platform's token issuer (platform layer).

One Amazon Cognito user pool per environment issues machine-to-machine access tokens (OAuth 2.0
client credentials grant); each team's load balancers accept only tokens carrying the team's
scope (``components/serving/model_routes.py``, the controller's ``jwt-validation``).

- the pool: no users (nobody may sign up: ``allow_admin_create_user_only``), deletion protection
  in prod. The pool is encrypted with an AWS-owned key: Cognito's API now takes a customer
  managed key for a pool's data (CreateUserPool ``KeyConfiguration``, ``CUSTOMER_MANAGED_KEY``;
  Cognito API Reference, KeyConfigurationType), but the pinned pulumi-aws (7.51) has no argument
  for it, and the pool holds no user data anyway; the platform key encrypts the secrets instead;
- a prefix domain ``<prefix>.auth.<region>.amazoncognito.com``, whose ``/oauth2/token`` is the
  token endpoint (prefix rules in ``domain_prefix``);
- one resource server ``routes`` with one scope per team, ``routes/<team>.invoke``;
- per team: an app client allowed the client credentials flow and the team's scope only, with a
  generated secret, and a Secrets Manager secret (encrypted with the platform key) holding the
  client's id, secret, token endpoint and scope, which only the team's caller role may read
  (``components/model_callers.py``).

Tokens: Cognito signs access tokens with RS256 (the only algorithm ALB verifies) and publishes
its keys at ``<issuer>/.well-known/jwks.json`` (Cognito Developer Guide, "Verifying a JSON Web
Token"); the issuer is ``https://cognito-idp.<region>.amazonaws.com/<pool id>``. An access token
carries ``iss``, ``exp``, ``iat``, ``token_use`` = ``access``, ``client_id`` and ``scope`` (the
granted scopes, space-separated).

Reaching the JWKS: the load balancers are internal, and ALB fetches the keys from the endpoint
it is given, which "must be publicly accessible" (Elastic Load Balancing User Guide, "Verify
JWTs using an Application Load Balancer"). An internal ALB reaches a public endpoint the way its
authenticate actions reach an IdP: through a NAT gateway on its subnets' default route and an
outbound rule for 443 in its security group (AWS re:Post knowledge center,
"elb-configure-authentication-alb", HTTP 500). Here: the controller puts internal ALBs in the
subnets tagged ``kubernetes.io/role/internal-elb``, the private ones, whose default route is the
NAT gateway (``components/network.py``; tested), and the security group it creates keeps EC2's
default allow-all egress (the controller v3.5.0 never revokes egress).

Resources: 3 per environment (pool, domain, resource server) and 3 per team (app client,
secret, secret version); none per model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.iam_documents import Statement
from infra.declarations.tags import TAG_TEAM

RESOURCE_SERVER = "routes"
# Access tokens live one hour (Cognito's default; 5 minutes to 1 day allowed): the client keeps
# one per process until shortly before it expires, so a team pays about one request an hour.
ACCESS_TOKEN_MINUTES = 60
CLIENT_CREDENTIALS = "client_credentials"
# Cognito refuses a prefix domain containing these (Developer Guide, "Using the prefix domain").
RESERVED_IN_PREFIX = ("aws", "amazon", "cognito")
# AWS::Cognito::UserPoolDomain Domain pattern (CloudFormation reference).
PREFIX_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def team_scope(team: str) -> str:
    """The scope a team's token carries and its load balancers require."""
    return f"{RESOURCE_SERVER}/{team}.invoke"


def credentials_secret_name(environment: str, team: str) -> str:
    return f"mlplat/{environment}/{team}/route-client"


def credentials_secret_arn_pattern(region: str, account: str, environment: str, team: str) -> str:
    # Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
    name = credentials_secret_name(environment, team)
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-??????"


def secret_recovery_days(production: bool) -> int:
    """Days a deleted credentials secret waits before it is gone. Its name is fixed and Secrets
    Manager refuses to create a secret whose name is scheduled for deletion (DeleteSecret:
    30 days by default, 7 at least, or none with ForceDeleteWithoutRecovery, which the provider
    sends for 0), so outside prod a destroyed environment could not be brought up again for a
    month; the credentials are regenerated from the app client anyway. Prod keeps the default."""
    return 30 if production else 0


def domain_prefix(environment: str, account: str) -> str:
    """``mlplat-<env>-<account>``: prefix domains are unique across all accounts of a Region,
    so the account keeps two installations apart; refused here rather than by Cognito."""
    prefix = f"mlplat-{environment}-{account}"
    if not PREFIX_PATTERN.fullmatch(prefix) or any(w in prefix for w in RESERVED_IN_PREFIX):
        raise ValueError(f"{prefix!r} is not a prefix domain Cognito accepts")
    return prefix


def issuer_url(region: str, pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def jwks_url(region: str, pool_id: str) -> str:
    return f"{issuer_url(region, pool_id)}/.well-known/jwks.json"


def token_endpoint(prefix: str, region: str) -> str:
    return f"https://{prefix}.auth.{region}.amazoncognito.com/oauth2/token"


@dataclass(frozen=True)
class RouteAuth:
    """What a load balancer needs to verify a token (the contract's ``routeAuth``)."""

    issuer: pulumi.Input[str]
    jwks_url: pulumi.Input[str]


def read_secret_statements(secret_arn: str, kms_key_arn: str, region: str) -> list[Statement]:
    """A team caller's access to its own credentials: the secret, and the platform key only
    through Secrets Manager for that secret (Secrets Manager decrypts as the caller, with the
    secret's ARN as encryption context)."""
    return [
        Statement("ReadRouteCredentials", ("secretsmanager:GetSecretValue",), (secret_arn,)),
        Statement(
            "DecryptRouteCredentials",
            ("kms:Decrypt",),
            (kms_key_arn,),
            conditions={
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": secret_arn,
                }
            },
        ),
    ]


class RouteTokenIssuer(PlatformComponent):
    """The environment's user pool, its domain and resource server, and each team's client and
    credentials secret. ``secret_arns[team]``: where the team's caller reads its credentials."""

    TYPE = "mlplat:identity:RouteTokenIssuer"

    def __init__(
        self,
        name: str,
        *,
        environment: str,
        teams: Sequence[str],
        region: str,
        account: str,
        kms_key_arn: pulumi.Input[str],
        production: bool,
        opts=None,
    ) -> None:
        super().__init__(name, opts=opts)
        self.pool = aws.cognito.UserPool(
            f"{name}-pool",
            name=f"mlplat-{environment}-routes",
            # No users: the pool only issues tokens to the platform's app clients.
            admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(
                allow_admin_create_user_only=True
            ),
            deletion_protection="ACTIVE" if production else "INACTIVE",
            opts=self.child_opts(protect=production),
        )
        prefix = domain_prefix(environment, account)
        aws.cognito.UserPoolDomain(
            f"{name}-domain", domain=prefix, user_pool_id=self.pool.id, opts=self.child_opts()
        )
        server = aws.cognito.ResourceServer(
            f"{name}-server",
            identifier=RESOURCE_SERVER,
            name=f"mlplat-{environment}-routes",
            user_pool_id=self.pool.id,
            scopes=[
                aws.cognito.ResourceServerScopeArgs(
                    scope_name=team_scope(team).split("/", 1)[1],
                    scope_description=f"invoke team {team}'s load-balanced model routes",
                )
                for team in sorted(teams)
            ],
            opts=self.child_opts(),
        )
        self.secret_arns: dict[str, pulumi.Output[str]] = {
            team: self._team_client(
                name, environment, team, prefix, region, kms_key_arn, server, production
            )
            for team in sorted(teams)
        }
        self.route_auth = RouteAuth(
            issuer=self.pool.id.apply(lambda pool: issuer_url(region, pool)),
            jwks_url=self.pool.id.apply(lambda pool: jwks_url(region, pool)),
        )
        self.register_outputs(
            {
                "issuer": self.route_auth.issuer,
                "jwksUrl": self.route_auth.jwks_url,
                "secretArns": self.secret_arns,
            }
        )

    def _team_client(
        self,
        name: str,
        environment: str,
        team: str,
        prefix: str,
        region: str,
        kms_key_arn: pulumi.Input[str],
        server: aws.cognito.ResourceServer,
        production: bool,
    ) -> pulumi.Output[str]:
        owned = pulumi.ResourceOptions(parent=self)
        client = aws.cognito.UserPoolClient(
            f"{name}-{team}-client",
            name=f"mlplat-{environment}-{team}-caller",
            user_pool_id=self.pool.id,
            generate_secret=True,
            allowed_oauth_flows=[CLIENT_CREDENTIALS],
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_scopes=[team_scope(team)],
            # No user sign-in flow: the client only exchanges its secret for tokens.
            explicit_auth_flows=["ALLOW_REFRESH_TOKEN_AUTH"],
            supported_identity_providers=["COGNITO"],
            access_token_validity=ACCESS_TOKEN_MINUTES,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                access_token="minutes"
            ),
            enable_token_revocation=True,
            # The scope must exist before a client may be allowed it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[server]),
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-{team}-credentials",
            name=credentials_secret_name(environment, team),
            description=f"OAuth client credentials of team {team}'s model routes",
            kms_key_id=kms_key_arn,
            recovery_window_in_days=secret_recovery_days(production),
            tags={TAG_TEAM: team},  # the stack transform adds the environment's
            opts=owned,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-{team}-credentials",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(
                pulumi.Output.all(client.id, client.client_secret).apply(
                    lambda values: json.dumps(
                        {
                            "clientId": values[0],
                            "clientSecret": values[1],
                            "tokenEndpoint": token_endpoint(prefix, region),
                            "scope": team_scope(team),
                        },
                        sort_keys=True,
                    )
                )
            ),
            opts=owned,
        )
        return secret.arn


# What the provider calls on a user pool and what hangs off it (policies/provider_actions.json).
_POOL_MANAGE = (
    "cognito-idp:DescribeUserPool",
    "cognito-idp:GetUserPoolMfaConfig",
    "cognito-idp:SetUserPoolMfaConfig",
    "cognito-idp:UpdateUserPool",
    "cognito-idp:DeleteUserPool",
    "cognito-idp:TagResource",
    "cognito-idp:UntagResource",
    "cognito-idp:ListTagsForResource",
    "cognito-idp:CreateUserPoolDomain",
    "cognito-idp:UpdateUserPoolDomain",
    "cognito-idp:DeleteUserPoolDomain",
    "cognito-idp:CreateResourceServer",
    "cognito-idp:DescribeResourceServer",
    "cognito-idp:UpdateResourceServer",
    "cognito-idp:DeleteResourceServer",
    "cognito-idp:CreateUserPoolClient",
    "cognito-idp:DescribeUserPoolClient",
    "cognito-idp:UpdateUserPoolClient",
    "cognito-idp:DeleteUserPoolClient",
)
_SECRETS_MANAGE = (
    "secretsmanager:CreateSecret",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:TagResource",
    "secretsmanager:UntagResource",
    "secretsmanager:PutSecretValue",
    # Pulumi reads a secret version back on refresh: the deployer reads what it wrote.
    "secretsmanager:GetSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)


def deploy_statements(sid_prefix: str, region: str, account: str, environment: str):
    """The environment deployer's rights on the token issuer: pools are scoped by the
    environment tag (their ids are generated), secrets by name."""
    tag = "aws:{}Tag/mlplat:environment"
    return [
        # CreateUserPool and DescribeUserPoolDomain take no resource (Service Authorization
        # Reference, Amazon Cognito User Pools); creation must tag the pool with this environment.
        Statement(
            f"{sid_prefix}CreateRouteUserPools",
            ("cognito-idp:CreateUserPool",),
            ("*",),
            conditions={"StringEquals": {tag.format("Request"): environment}},
        ),
        Statement(f"{sid_prefix}ReadRouteDomains", ("cognito-idp:DescribeUserPoolDomain",), ("*",)),
        Statement(
            f"{sid_prefix}RouteUserPools",
            _POOL_MANAGE,
            (f"arn:aws:cognito-idp:{region}:{account}:userpool/*",),
            conditions={"StringEquals": {tag.format("Resource"): environment}},
        ),
        Statement(
            f"{sid_prefix}RouteCredentials",
            _SECRETS_MANAGE,
            (f"arn:aws:secretsmanager:{region}:{account}:secret:mlplat/{environment}/*",),
        ),
    ]
