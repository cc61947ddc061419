"""Prices of the routes' token issuer (components/route_auth.py): Cognito machine-to-machine
authorization, per team's app client.

Cognito bills M2M authorization "along two dimensions": each app client with a client
credentials grant, per month (prorated by the second), and each successful token response
(graduated tiers; the first tier applies at the platform's volume). The rates are not in the
Price List snapshot (``mlplat prices refresh`` does not fetch Cognito): they are the Cognito
pricing page's published M2M rates as quoted by AWS's billing line items
(``<region>-CUPM2MTokenRequestsFull``) and by the pricing page's worked examples, the same in
every Region the platform uses, and checked by hand, not by the refresh.

A user pool with no users costs nothing (MAUs are billed; the pool has none), and neither do
its domain and resource server. Token requests follow from the client: one caller process that
keeps its token (``mlplat.client``) asks once per token lifetime, 730 h × 60 ÷ the validity in
minutes a month; N processes ask N times as often, which the graph cannot know, so the line is
per process and says so.
"""

from __future__ import annotations

import re

from cost_model.graph import Resource
from cost_model.prices import HOURS_PER_MONTH, RegionPrices

USER_POOL_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
APP_CLIENT_MONTH = 6.00
TOKEN_REQUEST = 0.00225  # $2.25 per 1,000
_MINUTES = {"seconds": 1 / 60, "minutes": 1, "hours": 60, "days": 1440}
_TEAM_CLIENT = re.compile(r"^mlplat-[a-z0-9]+-(?P<team>.+)-caller$")
SECRET = "aws:secretsmanager/secret:Secret"
# aws.amazon.com/secrets-manager/pricing: $0.40 per secret per month, every Region used here.
SECRET_MONTH = 0.40
_TEAM_SECRET = re.compile(r"^mlplat/[a-z0-9]+/(?P<team>[^/]+)/route-client$")


def token_requests_per_month(validity: float, unit: str) -> float:
    """One caller process's requests: one per token lifetime (Cognito's default: 1 hour)."""
    minutes = validity * _MINUTES[unit]
    return HOURS_PER_MONTH * 60 / minutes


def app_client(resource: Resource, prices: RegionPrices, region: str, context):
    from cost_model.estimate import _Priced, _rate

    flows = resource.prop("allowedOauthFlows") or []
    if "client_credentials" not in flows:
        return None  # not an M2M client: billed per user (MAU), which the graph cannot know
    unit = (resource.prop("tokenValidityUnits") or {}).get("accessToken") or "hours"
    validity = resource.prop("accessTokenValidity") or 1
    requests = token_requests_per_month(validity, unit)
    cost = APP_CLIENT_MONTH + requests * TOKEN_REQUEST
    basis = (
        f"1 M2M app client × {_rate(APP_CLIENT_MONTH)}/month + {requests:,.0f} token requests "
        f"(one caller process, a token per {validity:g} {unit}: {HOURS_PER_MONTH} h × 60 ÷ "
        f"{validity * _MINUTES[unit]:g} min) × {_rate(TOKEN_REQUEST)} (Cognito M2M)"
    )
    match = _TEAM_CLIENT.match(str(resource.prop("name") or ""))
    return _Priced(cost, cost, basis, team=match["team"] if match else None)


def secret(resource: Resource, prices: RegionPrices, region: str, context):
    """A team's route credentials: Secrets Manager bills each secret per month, prorated, and
    API calls per 10,000 (the client reads it once per process: not estimated)."""
    from cost_model.estimate import _Priced, _rate

    match = _TEAM_SECRET.match(str(resource.prop("name") or ""))
    basis = f"1 secret × {_rate(SECRET_MONTH)}/month (API calls, $0.05 per 10,000, not estimated)"
    return _Priced(SECRET_MONTH, SECRET_MONTH, basis, team=match["team"] if match else None)


PRICERS = {USER_POOL_CLIENT: app_client, SECRET: secret}
