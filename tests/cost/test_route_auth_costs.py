"""The token issuer's prices (cost_model/route_auth.py): per team's M2M app client, a monthly fee
and the token requests of one caller process that keeps its token for its lifetime."""

from __future__ import annotations

import datetime as dt

import pytest
from cost_exports import export, resource

from cost_model.estimate import EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import load_snapshot
from cost_model.route_auth import APP_CLIENT_MONTH, TOKEN_REQUEST

CLIENT = "aws:cognito/userPoolClient:UserPoolClient"


def client(name="mlplat-dev-growth-caller", **inputs):
    return resource(
        CLIENT,
        f"{name}-client",
        {"name": name, "allowedOauthFlows": ["client_credentials"], **inputs},
    )


def priced(*entries):
    result = estimate(
        Graph.from_export(export(*entries)),
        load_snapshot(),
        EstimateOptions(as_of=dt.date(2026, 11, 28)),
    )
    return result, {item.urn.rsplit("::", 1)[-1]: item for item in result.items}


@pytest.mark.parametrize(
    ("validity", "unit", "requests"),
    [
        (60, "minutes", 730),  # 730 h × 60 ÷ 60 min
        (None, None, 730),  # Cognito's default: 1 hour
        (5, "minutes", 8760),
        (1, "days", 730 / 24),
    ],
)
def test_an_app_client_costs_its_fee_and_one_process_token_requests(validity, unit, requests):
    inputs = {}
    if validity is not None:
        inputs = {"accessTokenValidity": validity, "tokenValidityUnits": {"accessToken": unit}}
    _, items = priced(client(**inputs))
    (item,) = items.values()
    assert item.monthly == pytest.approx(APP_CLIENT_MONTH + requests * TOKEN_REQUEST)
    assert item.max_monthly == item.monthly
    assert "× $6/month" in item.basis and f"{requests:,.0f} token requests" in item.basis
    assert "$0.00225" in item.basis


def test_the_client_is_charged_to_its_team():
    result, _ = priced(client(), client("mlplat-dev-fraud-ops-caller"))
    teams = result.totals_by("team")
    assert set(teams) == {"growth", "fraud-ops"}
    assert teams["fraud-ops"].monthly == pytest.approx(APP_CLIENT_MONTH + 730 * TOKEN_REQUEST)


def test_a_client_without_the_client_credentials_grant_is_not_an_m2m_line():
    _, items = priced(client(allowedOauthFlows=["code"]))
    assert items == {}


def test_each_teams_route_secret_costs_its_month_and_belongs_to_the_team():
    from cost_model.route_auth import SECRET, SECRET_MONTH

    secrets = [
        resource(SECRET, f"{team}-secret", {"name": f"mlplat/dev/{team}/route-client"})
        for team in ("growth", "fraud-ops")
    ]
    result, _ = priced(*secrets)
    assert result.total.monthly == pytest.approx(2 * SECRET_MONTH)
    by_team = result.totals_by("team")
    assert by_team["growth"].monthly == pytest.approx(SECRET_MONTH)
    assert by_team["fraud-ops"].monthly == pytest.approx(SECRET_MONTH)


@pytest.mark.parametrize(
    ("validity", "unit", "minutes"), [(2, "hours", 120), (90, "seconds", 1.5), (1, "days", 1440)]
)
def test_the_basis_shows_the_token_lifetime_in_minutes(validity, unit, minutes):
    inputs = {"accessTokenValidity": validity, "tokenValidityUnits": {"accessToken": unit}}
    _, items = priced(client(**inputs))
    (item,) = items.values()
    assert f"a token per {validity:g} {unit}: 730 h × 60 ÷ {minutes:g} min)" in item.basis


def test_a_secret_costs_its_month_and_says_what_is_not_estimated():
    from cost_model.route_auth import SECRET

    _, items = priced(resource(SECRET, "s", {"name": "mlplat/dev/growth/route-client"}))
    assert items["s"].basis == (
        "1 secret × $0.4/month (API calls, $0.05 per 10,000, not estimated)"
    )


def test_a_secret_or_client_not_named_for_a_team_belongs_to_no_team():
    from cost_model.route_auth import SECRET

    result, items = priced(
        resource(SECRET, "other", {"name": "some/other/secret"}),
        client("a-client-of-someone-else"),
    )
    assert {item.team for item in items.values()} == {None}
    assert set(result.totals_by("team")) == {"(shared)"}
