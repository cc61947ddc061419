"""The monitoring pricers' branches on hand-made graphs: AMP's workspace, a team's rule namespace
and the managed scraper, Grafana's licences, and the flat monthly charges (dashboards, KMS keys).
test_prometheus_cost.py checks the AMP arithmetic; these state each pricer's low and high
figures, its basis in full, and what it does without usage tags or without the region's rates.

Rates (infra/prices.json, us-east-1): AMP ingestion $0.90/10M samples (first 2 B), storage
$0.03/GB-month, collector $0.04/h and $0.01/10M samples collected; Grafana $9 an editor and
$5 a viewer a month; a dashboard $3 and a customer managed key $1 a month.
1,000 series scraped every 30 s: 1,000 × 2,628,000 s ÷ 30 = 87.6 M samples a month, ingestion
87.6 M × $0.90/10M = $7.884, stored 87.6 M × (150 × 24 / 730) × 2 B / 2^30 = 0.8047 GB × $0.03
= $0.0241, collected 87.6 M × $0.01/10M = $0.0876."""

from __future__ import annotations

import pytest

from cost_model import prometheus
from cost_model.estimate import EstimateError
from cost_model.prices import load_snapshot
from infra.declarations.tags import (
    TAG_ACTIVE_SERIES,
    TAG_GRAFANA_EDITORS,
    TAG_GRAFANA_VIEWERS,
    TAG_SCRAPE_INTERVAL,
)
from tests.cost.cost_exports import resource, tags
from tests.cost.pricer_graphs import east_with, price

WORKSPACE = "aws:amp/workspace:Workspace"
NAMESPACE = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
SCRAPER = "aws:amp/scraper:Scraper"
GRAFANA = "aws:grafana/workspace:Workspace"
USAGE = {TAG_ACTIVE_SERIES: "1000", TAG_SCRAPE_INTERVAL: "30"}
INGESTED_AND_STORED = 7.884 + 0.02414
COLLECTED = 0.0876
NO_AMP = "no AMP prices for us-east-1 in the snapshot: $0"


@pytest.fixture(scope="module", autouse=True)
def _the_rates_worked_here():
    region = load_snapshot().region("us-east-1")
    amp = region.amp
    assert (amp.ingest_first_2b_per_10m_samples, amp.storage_gb_month) == (0.9, 0.03)
    assert (amp.collector_hour, amp.collected_per_10m_samples) == (0.04, 0.01)
    assert (region.grafana.editor_month, region.grafana.viewer_month) == (9.0, 5.0)
    assert (region.cloudwatch.dashboard_month, region.kms_key_month) == (3.0, 1.0)


def _line(entry, snapshot=None):
    (line,) = price(entry, snapshot=snapshot).items
    return line


def _amp_basis(series: float, interval: float) -> str:
    amp = load_snapshot().region("us-east-1").amp
    return prometheus.amp_cost(series, interval, amp).basis(amp)


def _tagged(type_: str, usage: dict, name: str = "metrics", team: str | None = None):
    return resource(type_, name, {"tags": {**tags(team=team), **usage}})


# --- the workspace ------------------------------------------------------------------------------


def test_the_workspace_costs_ingestion_and_storage_of_its_series():
    line = _line(_tagged(WORKSPACE, USAGE))
    assert line.monthly == pytest.approx(INGESTED_AND_STORED, abs=1e-4)
    assert line.max_monthly == line.monthly
    assert line.basis == _amp_basis(1000, 30)
    assert line.basis.startswith("1,000 series × 2,628,000 s/month ÷ 30 s = 87,600,000 samples")


@pytest.mark.parametrize(
    "usage",
    [
        {},
        {TAG_ACTIVE_SERIES: "1000"},
        {TAG_SCRAPE_INTERVAL: "30"},
        {**USAGE, TAG_SCRAPE_INTERVAL: "0"},
    ],
    ids=["none", "no interval", "no series", "zero interval"],
)
def test_a_workspace_without_series_and_an_interval_is_free_and_says_why(usage):
    line = _line(_tagged(WORKSPACE, usage))
    assert (line.monthly, line.max_monthly) == (0.0, 0.0)
    assert line.basis == f"no series or scrape interval declared ({TAG_ACTIVE_SERIES})"


def test_zero_series_is_a_declared_usage_of_nothing():
    line = _line(_tagged(WORKSPACE, {**USAGE, TAG_ACTIVE_SERIES: "0"}))
    assert line.monthly == 0.0
    assert line.basis == _amp_basis(0, 30)


@pytest.mark.parametrize("usage", [USAGE, {}])
def test_a_workspace_in_a_region_without_amp_prices_is_free_and_says_so(usage):
    line = _line(_tagged(WORKSPACE, usage), east_with(amp=None))
    assert (line.monthly, line.max_monthly, line.basis) == (0.0, 0.0, NO_AMP)


def test_a_malformed_series_tag_is_an_error_naming_it():
    with pytest.raises(EstimateError, match=f"tag {TAG_ACTIVE_SERIES}='many' is not a non-neg"):
        _line(_tagged(WORKSPACE, {**USAGE, TAG_ACTIVE_SERIES: "many"}))


# --- a team's rule namespace (layered stacks) -----------------------------------------------------


def test_a_namespace_with_series_costs_them_and_their_collection():
    line = _line(_tagged(NAMESPACE, USAGE, team="growth"))
    assert line.monthly == pytest.approx(INGESTED_AND_STORED + COLLECTED, abs=1e-4)
    assert line.max_monthly == line.monthly
    assert line.basis == f"{_amp_basis(1000, 30)}; collected $0.09"
    assert line.team == "growth"


@pytest.mark.parametrize("snapshot", [None, "no AMP"], ids=["priced region", "no AMP rates"])
def test_a_namespace_without_series_is_priced_on_the_workspace(snapshot):
    line = _line(_tagged(NAMESPACE, {}), east_with(amp=None) if snapshot else None)
    assert (line.monthly, line.max_monthly) == (0.0, 0.0)
    assert line.basis == "no series declared on this namespace: priced on the workspace"


def test_a_namespace_in_a_region_without_amp_prices_is_free_and_says_so():
    line = _line(_tagged(NAMESPACE, USAGE), east_with(amp=None))
    assert (line.monthly, line.max_monthly, line.basis) == (0.0, 0.0, NO_AMP)


# --- the managed scraper -------------------------------------------------------------------------


def test_the_scraper_costs_its_hours_and_the_samples_it_collects():
    line = _line(_tagged(SCRAPER, USAGE))
    # 730 h × $0.04 = $29.20 + $0.0876.
    assert line.monthly == pytest.approx(29.2 + COLLECTED)
    assert line.max_monthly == line.monthly
    assert line.basis == "730 h × $0.04/h + 87,600,000 samples collected × $0.01/10M"


def test_a_scraper_without_usage_costs_its_hours():
    line = _line(_tagged(SCRAPER, {}))
    assert (line.monthly, line.max_monthly) == (pytest.approx(29.2), pytest.approx(29.2))
    assert line.basis == "730 h × $0.04/h + 0 samples collected × $0.01/10M"


@pytest.mark.parametrize("usage", [USAGE, {}])
def test_a_scraper_in_a_region_without_amp_prices_is_free_and_says_so(usage):
    line = _line(_tagged(SCRAPER, usage), east_with(amp=None))
    assert (line.monthly, line.max_monthly, line.basis) == (0.0, 0.0, NO_AMP)


# --- Grafana --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("users", "editors", "viewers"),
    [
        ({TAG_GRAFANA_EDITORS: "2", TAG_GRAFANA_VIEWERS: "7"}, 2, 7),
        ({TAG_GRAFANA_EDITORS: "2"}, 2, 0),
        ({TAG_GRAFANA_VIEWERS: "7"}, 0, 7),
        ({}, 0, 0),
    ],
    ids=["both", "editors only", "viewers only", "none"],
)
def test_grafana_costs_its_declared_editors_and_viewers(users, editors, viewers):
    line = _line(_tagged(GRAFANA, users))
    cost = editors * 9.0 + viewers * 5.0
    assert (line.monthly, line.max_monthly) == (cost, cost)
    assert line.basis == (
        f"{editors} editor × $9.0/month + {viewers} viewer × $5.0/month (active users)"
    )


def test_grafana_in_a_region_without_its_prices_is_free_and_says_so():
    users = {TAG_GRAFANA_EDITORS: "2", TAG_GRAFANA_VIEWERS: "7"}
    line = _line(_tagged(GRAFANA, users), east_with(grafana=None))
    assert (line.monthly, line.max_monthly) == (0.0, 0.0)
    assert line.basis == "no Grafana prices for us-east-1 in the snapshot: $0"


# --- flat monthly charges -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "cost", "basis"),
    [
        ("aws:cloudwatch/dashboard:Dashboard", 3.0, "1 dashboard × $3/month"),
        ("aws:kms/key:Key", 1.0, "1 customer managed key × $1/month"),
    ],
)
def test_a_flat_monthly_charge_is_one_unit_at_its_rate(type_, cost, basis):
    line = _line(resource(type_, "thing", {"tags": tags(team="growth")}))
    assert (line.monthly, line.max_monthly, line.basis) == (cost, cost, basis)
    assert line.team == "growth"
