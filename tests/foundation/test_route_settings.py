"""mlplat:routes: prod serves its model routes over HTTPS only, and the three TLS settings come
together, with the certificate in the stack's region; each refusal names the field."""

from __future__ import annotations

import pytest

from infra.declarations.routes import MAX_TEAMS_WITH_TOKENS
from tests.foundation.conftest import config_data, team_data
from tests.foundation.test_validation import parse, problems_of

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-4000-8000-000000000001"
TLS = {"certificateArn": CERTIFICATE, "domain": "models.example.internal", "privateZoneId": "Z1"}


def test_prod_without_a_certificate_is_refused_by_name():
    problems = problems_of(stack="prod")
    assert "required in prod" in problems["config.routes.certificateArn"]
    assert parse("prod", config=config_data(**{"mlplat:routes": TLS})).settings.routes.tls


def test_outside_prod_no_certificate_means_plain_http():
    assert parse("dev").settings.routes.tls is False


@pytest.mark.parametrize("missing", sorted(TLS))
def test_the_tls_settings_come_together(missing):
    partial = {key: value for key, value in TLS.items() if key != missing}
    problems = problems_of(config=config_data(**{"mlplat:routes": partial}))
    assert f"missing: {missing}" in problems["config.routes"]


def test_the_certificate_must_be_in_the_stacks_region():
    elsewhere = {**TLS, "certificateArn": CERTIFICATE.replace("us-east-1", "eu-west-1")}
    problems = problems_of(config=config_data(**{"mlplat:routes": elsewhere}))
    assert "is in eu-west-1" in problems["config.routes.certificateArn"]


def test_a_malformed_certificate_arn_is_refused():
    bad = {**TLS, "certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}
    problems = problems_of(config=config_data(**{"mlplat:routes": bad}))
    assert any(path.startswith("config.routes.certificateArn") for path in problems)


def _teams(count: int) -> list[dict]:
    # The example model's team, "fraud", is the first.
    return [team_data(), *(team_data(name=f"team-{index:03d}") for index in range(1, count))]


@pytest.mark.parametrize("tls", [True, False])
def test_an_issuer_holds_a_scope_for_each_of_at_most_100_teams(tls):
    """With HTTPS routes every team gets a scope on the environment's one Cognito resource
    server, which holds at most 100: the 101st team is refused before anything is created, not
    by CreateResourceServer halfway through `pulumi up`. Without HTTPS there is no issuer."""
    config = config_data(**({"mlplat:routes": TLS} if tls else {}))
    assert len(parse(teams=_teams(MAX_TEAMS_WITH_TOKENS), config=config).teams) == 100
    if tls:
        problems = problems_of(teams=_teams(MAX_TEAMS_WITH_TOKENS + 1), config=config)
        assert "101 teams with HTTPS routes" in problems["teams"]
        assert "at most 100" in problems["teams"]
    else:
        assert len(parse(teams=_teams(MAX_TEAMS_WITH_TOKENS + 1), config=config).teams) == 101
