"""The routes' token issuer (components/route_auth.py): the Cognito user pool, its app clients,
and the Secrets Manager secrets holding each team's client credentials."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.framework import dig, is_prod, resource_rule

USER_POOL = "aws:cognito/userPool:UserPool"
USER_POOL_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
SECRET = "aws:secretsmanager/secret:Secret"
# Seconds per token_validity_units value; Cognito's default unit for access tokens is hours
# (AWS::Cognito::UserPoolClient TokenValidityUnits).
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
MAX_ACCESS_TOKEN_SECONDS = 3600


@resource_rule(
    name="cognito-user-pool-deletion-protection",
    description="In prod, Cognito user pools have deletion protection on.",
    severity=Severity.HIGH,
    remediation="Set deletion_protection='ACTIVE' on the user pool.",
    resource_types=(USER_POOL,),
)
def cognito_user_pool_deletion_protection(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if is_prod(args.urn) and args.props.get("deletionProtection") != "ACTIVE":
        report(f"deletionProtection is {args.props.get('deletionProtection')!r}, not 'ACTIVE'")


def client_problems(props: dict) -> list[str]:
    """Why an app client is more than a machine caller with its own secret and scopes."""
    problems = []
    flows = list(props.get("allowedOauthFlows") or [])
    if flows != ["client_credentials"]:
        problems.append(f"allowedOauthFlows is {flows}, not only client_credentials")
    if props.get("allowedOauthFlowsUserPoolClient") is not True:
        problems.append("allowedOauthFlowsUserPoolClient is not true (no OAuth flow is enabled)")
    if props.get("generateSecret") is not True:
        problems.append("no generated secret: the client credentials grant needs one")
    if not props.get("allowedOauthScopes"):
        problems.append("no allowedOauthScopes: a token would authorise nothing, or anything")
    if props.get("callbackUrls"):
        problems.append("callbackUrls: a machine client has no browser redirect")
    unit = dig(props, "tokenValidityUnits", "accessToken", default=None) or "hours"
    validity = props.get("accessTokenValidity") or 1  # Cognito's default: 1 hour
    if validity * _UNIT_SECONDS.get(unit, 3600) > MAX_ACCESS_TOKEN_SECONDS:
        problems.append(f"access tokens live {validity} {unit}: more than an hour")
    return problems


@resource_rule(
    name="cognito-client-credentials-only",
    description="Cognito app clients are machine callers: the client credentials grant only, "
    "a generated secret, named scopes, access tokens of at most an hour.",
    severity=Severity.HIGH,
    remediation="Set allowed_oauth_flows=['client_credentials'], "
    "allowed_oauth_flows_user_pool_client=True, generate_secret=True, the team's scope in "
    "allowed_oauth_scopes, and access_token_validity of at most 60 minutes.",
    resource_types=(USER_POOL_CLIENT,),
)
def cognito_client_credentials_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for problem in client_problems(args.props):
        report(problem)


@resource_rule(
    name="secretsmanager-secret-kms-key",
    description="Secrets are encrypted with the platform's customer managed key, so reading one "
    "also needs the key (the AWS managed key is usable by every principal of the account that "
    "may read the secret).",
    severity=Severity.MEDIUM,
    remediation="Set kms_key_id to the platform key's ARN.",
    resource_types=(SECRET,),
)
def secretsmanager_secret_kms_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    key = args.props.get("kmsKeyId")
    if not key or str(key).startswith("alias/aws/"):
        report("no customer managed key (kmsKeyId): the AWS managed key aws/secretsmanager")
