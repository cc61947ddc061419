"""Who passes a team's load balancer: the routes' token validation against the platform's token
issuer, judged the way ALB judges a token, over whatever teams and models each stack declares.

``alb_admits`` restates ALB's documented checks (Elastic Load Balancing User Guide, "Verify JWTs
using an Application Load Balancer"): the signature (assumed valid here: tokens are the issuer's),
``iss`` equal to the configured issuer, ``exp`` in the future, ``nbf``/``iat`` not in the future
when present, and each additional claim in its format. How a claim of several values is matched
(any listed value, or all of them) is not documented, so every property holds under both readings.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.model_callers import caller_role_name
from components.route_auth import (
    PREFIX_PATTERN,
    RESERVED_IN_PREFIX,
    domain_prefix,
    issuer_url,
    jwks_url,
    team_scope,
)
from components.serving.model_routes import ANNOTATION, ingress_annotations, jwt_validation
from components.serving.route_groups import RouteGroup
from infra.declarations.routes import RouteSettings

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
SEMANTICS = ("any", "all")
NOW = 1_800_000_000


def _values(claim, fmt: str) -> list[str] | None:
    if fmt == "single-string":
        return [claim] if isinstance(claim, str) else None
    if fmt == "string-array":
        return claim if isinstance(claim, list) else None
    if fmt == "space-separated-values":
        return claim.split(" ") if isinstance(claim, str) else None
    raise AssertionError(f"unknown format {fmt}")


def alb_admits(config: dict, claims: dict, semantics: str, now: int = NOW) -> bool:
    if claims.get("iss") != config["issuer"] or claims.get("exp", 0) <= now:
        return False
    if any(claims.get(key, 0) > now for key in ("nbf", "iat")):
        return False
    for wanted in config.get("additionalClaims", []):
        present = _values(claims.get(wanted["name"]), wanted["format"])
        if present is None:
            return False
        match = any if semantics == "any" else all
        if not match(value in present for value in wanted["values"]):
            return False
    return True


def access_token(issuer: str, client: dict, **extra) -> dict:
    """The claims of a Cognito access token from a client credentials grant for ``client``."""
    return {
        "iss": issuer,
        "exp": NOW + 3600,
        "iat": NOW - 1,
        "token_use": "access",
        "client_id": client["outputs"]["id"],
        "scope": " ".join(client["inputs"]["allowedOauthScopes"]),
        **extra,
    }


def _validation(ingress: dict) -> dict | None:
    raw = ingress["inputs"]["metadata"]["annotations"].get(ANNOTATION + "jwt-validation")
    return json.loads(raw) if raw is not None else None


def _issuer(plan) -> str:
    (pool,) = plan.of_type(POOL)
    return issuer_url(plan.spec.settings.region, pool["outputs"]["id"])


def _clients(plan) -> dict[str, dict]:
    env = plan.spec.name.value
    by_name = {c["inputs"]["name"]: c for c in plan.of_type(CLIENT)}
    return {t.name: by_name[caller_role_name(env, t.name)] for t in plan.spec.teams}


# --- the declared stacks ------------------------------------------------------------------------


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_a_teams_token_passes_its_own_load_balancers_and_no_other_teams(plan, semantics):
    ingresses = plan.of_type(INGRESS)
    assert ingresses, f"{plan.stack}: no load balancer to judge"
    assert plan.spec.settings.routes.tls, f"{plan.stack}: routes without HTTPS verify nothing"
    issuer, clients = _issuer(plan), _clients(plan)
    assert len(clients) >= 2, "needs two teams' clients to show the boundary"
    for ingress in ingresses:
        owner = ingress["inputs"]["metadata"]["labels"]["mlplat.io/team"]
        config = _validation(ingress)
        for team, client in clients.items():
            token = access_token(issuer, client)
            assert alb_admits(config, token, semantics) == (team == owner), (team, owner)


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_only_a_live_access_token_of_the_platforms_issuer_passes(plan, semantics):
    issuer, clients = _issuer(plan), _clients(plan)
    for ingress in plan.of_type(INGRESS):
        config = _validation(ingress)
        client = clients[ingress["inputs"]["metadata"]["labels"]["mlplat.io/team"]]
        assert alb_admits(config, access_token(issuer, client), semantics)
        refused = {
            "expired": access_token(issuer, client, exp=NOW - 1),
            "not yet valid": access_token(issuer, client, nbf=NOW + 60),
            "an ID token": access_token(issuer, client, token_use="id"),
            "another pool's": access_token(issuer + "x", client),
            "no scope": {k: v for k, v in access_token(issuer, client).items() if k != "scope"},
        }
        for why, token in refused.items():
            assert not alb_admits(config, token, semantics), why


def test_the_load_balancers_verify_against_the_pools_issuer_and_keys(plan):
    (pool,) = plan.of_type(POOL)
    region = plan.spec.settings.region
    for ingress in plan.of_type(INGRESS):
        config = _validation(ingress)
        assert config["issuer"] == issuer_url(region, pool["outputs"]["id"])
        # Cognito publishes a pool's signing keys under its issuer (Developer Guide, "Verifying
        # a JSON Web Token"): 2 RSA keys, within ALB's 10 keys and 150 KB.
        assert config["jwksEndpoint"] == jwks_url(region, pool["outputs"]["id"])
        assert config["jwksEndpoint"] == config["issuer"] + "/.well-known/jwks.json"


def test_each_teams_client_is_a_machine_caller_granted_its_own_scope_only(plan):
    for team, client in _clients(plan).items():
        inputs = client["inputs"]
        assert inputs["allowedOauthScopes"] == [team_scope(team)]
        assert inputs["allowedOauthFlows"] == ["client_credentials"]
        assert inputs["generateSecret"] is True
    scopes = [s for c in plan.of_type(CLIENT) for s in c["inputs"]["allowedOauthScopes"]]
    assert len(scopes) == len(set(scopes)), "a scope granted to two clients"
    (server,) = plan.of_type("aws:cognito/resourceServer:ResourceServer")
    assert set(server["outputs"]["scopeIdentifiers"]) == set(scopes)


def test_credentials_secrets_outside_prod_free_their_names_at_once(plan):
    """A secret's name stays taken while it is scheduled for deletion (DeleteSecret: 30 days by
    default): outside prod the fixed names must be force-deleted, or a destroyed environment
    cannot be brought up again for a month; prod keeps a recovery window (7 to 30 days)."""
    secrets = [
        s
        for s in plan.of_type("aws:secretsmanager/secret:Secret")
        if str(s["inputs"].get("name", "")).endswith("/route-client")
    ]
    assert secrets
    for secret in secrets:
        days = secret["inputs"].get("recoveryWindowInDays")
        if plan.spec.is_production:
            assert days is None or 7 <= days <= 30, secret["inputs"]["name"]
        else:
            assert days == 0, secret["inputs"]["name"]


def test_the_jwt_validation_value_is_the_controllers_documented_format(plan):
    """The controller's v3.5.0 format (docs/guide/ingress/annotations.md, "Token Validation";
    pkg/ingress/config_types.go JwtValidationConfig: jwksEndpoint, issuer, additionalClaims of
    format/name/values, both URLs required, each claim's fields required, values non-empty) and
    the API's limits (JwtValidationActionConfig: HTTPS URLs of at most 256 characters, at most
    10 claims; JwtValidationActionAdditionalClaim: not exp/iss/nbf/iat, at most 10 values of at
    most 256 characters, no spaces in space-separated-values)."""
    for ingress in plan.of_type(INGRESS):
        config = _validation(ingress)
        assert set(config) <= {"jwksEndpoint", "issuer", "additionalClaims"}
        for url in (config["jwksEndpoint"], config["issuer"]):
            assert url.startswith("https://") and len(url) <= 256
        claims = config.get("additionalClaims", [])
        assert len(claims) <= 10
        for claim in claims:
            assert set(claim) == {"format", "name", "values"}
            assert claim["format"] in ("single-string", "string-array", "space-separated-values")
            assert claim["name"] and claim["name"] not in ("exp", "iss", "nbf", "iat")
            assert 1 <= len(claim["values"]) <= 10
            for value in claim["values"]:
                assert isinstance(value, str) and 0 < len(value) <= 256
                if claim["format"] == "space-separated-values":
                    assert " " not in value


def test_internal_load_balancers_reach_the_public_jwks_through_a_nat_gateway(plan):
    """The controller places internal ALBs in the subnets tagged kubernetes.io/role/internal-elb;
    the JWKS endpoint is public, so each such subnet's default route must be a NAT gateway."""
    subnets = {
        s["outputs"]["id"]: s
        for s in plan.of_type("aws:ec2/subnet:Subnet")
        if (s["inputs"].get("tags") or {}).get("kubernetes.io/role/internal-elb") == "1"
    }
    assert subnets
    tables = {
        a["inputs"]["subnetId"]: a["inputs"]["routeTableId"]
        for a in plan.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    }
    defaults = {
        t["outputs"]["id"]: [r for r in t["inputs"]["routes"] if r.get("cidrBlock") == "0.0.0.0/0"]
        for t in plan.of_type("aws:ec2/routeTable:RouteTable")
    }
    nats = {n["outputs"]["id"] for n in plan.of_type("aws:ec2/natGateway:NatGateway")}
    for subnet in subnets:
        (route,) = defaults[tables[subnet]]
        assert route.get("natGatewayId") in nats, subnet


# --- any teams ----------------------------------------------------------------------------------

TEAM = st.from_regex(r"[a-z]([a-z0-9-]{0,18}[a-z0-9])?", fullmatch=True)
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"
TLS = RouteSettings(
    certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/0000-1111",
    domain="models.example.internal",
    private_zone_id="Z123",
)


def _token(team: str) -> dict:
    scope = team_scope(team)
    client = {"outputs": {"id": "c"}, "inputs": {"allowedOauthScopes": [scope]}}
    return access_token(ISSUER, client)


@given(owner=TEAM, caller=TEAM, semantics=st.sampled_from(SEMANTICS))
def test_for_any_two_teams_one_teams_token_never_passes_the_others_routes(owner, caller, semantics):
    """Including a team whose name extends another's (``fraud`` and ``fraud-ops``)."""
    config = jwt_validation(owner, ISSUER, ISSUER + "/.well-known/jwks.json")
    assert alb_admits(config, _token(caller), semantics) == (owner == caller)
    extended = _token(owner + "-ops")
    assert not alb_admits(config, extended, semantics)


def test_a_group_without_a_certificate_carries_no_token_validation():
    """The controller ignores jwt-validation on HTTP listeners: writing it would pretend."""
    annotations = ingress_annotations(
        RouteGroup("growth", 0),
        [],
        environment="dev",
        routes=RouteSettings(),
        vpc_cidr="10.0.0.0/16",
        access_logs_bucket="logs",
        production=False,
        auth=(ISSUER, ISSUER + "/.well-known/jwks.json"),
    )
    assert ANNOTATION + "jwt-validation" not in annotations


def test_an_https_group_without_a_token_issuer_is_refused():
    with pytest.raises(ValueError, match="token issuer"):
        ingress_annotations(
            RouteGroup("growth", 0),
            [],
            environment="dev",
            routes=TLS,
            vpc_cidr="10.0.0.0/16",
            access_logs_bucket="logs",
            production=False,
        )


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_the_domain_prefix_is_one_cognito_accepts(environment):
    prefix = domain_prefix(environment, "123456789012")
    assert PREFIX_PATTERN.fullmatch(prefix)
    assert not any(word in prefix for word in RESERVED_IN_PREFIX)


@pytest.mark.parametrize("environment", ["aws", "my_env", "Dev", "amazon1", "cognito"])
def test_a_prefix_cognito_would_refuse_is_refused_here(environment):
    with pytest.raises(ValueError, match="prefix domain"):
        domain_prefix(environment, "123456789012")


def test_tokens_are_checked_at_the_current_time():
    config = jwt_validation("growth", ISSUER, ISSUER + "/.well-known/jwks.json")
    now = int(time.time())
    assert alb_admits(config, {**_token("growth"), "exp": now + 60, "iat": now}, "all", now)
