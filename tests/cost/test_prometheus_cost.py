"""AMP ingestion and storage, the managed collector and Grafana licences, on hand-computed cases
(every expected number worked out in the comment; prices from the snapshot, us-east-1)."""

from __future__ import annotations

import datetime as dt

import pytest
from cost_exports import export, resource, tags

from cost_model import prometheus
from cost_model.estimate import EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import load_snapshot
from infra.declarations.tags import (
    TAG_ACTIVE_SERIES,
    TAG_GRAFANA_EDITORS,
    TAG_GRAFANA_VIEWERS,
    TAG_SCRAPE_INTERVAL,
)

AMP = load_snapshot().region("us-east-1").amp


def price(*entries):
    result = estimate(
        Graph.from_export(export(*entries)),
        load_snapshot(),
        EstimateOptions(as_of=dt.date(2026, 11, 30)),
    )
    return {item.type: item for item in result.items}


def test_samples_are_series_times_seconds_over_the_interval():
    # 1,000 series × 2,628,000 s ÷ 30 s = 87.6 M samples.
    assert prometheus.samples_per_month(1_000, 30) == pytest.approx(87_600_000)


@pytest.mark.parametrize(
    ("samples", "cost"),
    [
        (10_000_000, 0.90),  # one block of the first tier
        (2e9, 180.0),  # the first tier exactly: 200 × $0.90
        (2e9 + 10_000_000, 180.35),  # one block into the second tier
        (252e9 + 10_000_000, 180.0 + 25 * 350 + 0.16),  # 25,000 blocks × $0.35, then $0.16
    ],
)
def test_ingestion_is_tiered(samples, cost):
    assert prometheus.ingestion_cost(samples, AMP) == pytest.approx(cost)


@pytest.mark.parametrize("samples", [1, 1_000, 1e9, 2e9])
def test_below_the_second_tier_every_sample_is_billed_at_the_first_tiers_rate_alone(samples):
    # not approximately: one sample billed at another tier's rate is a relative error of 4e-1
    # at 1 sample (0.35 ÷ 0.90), and no tier may bill a sample it does not hold
    rate = AMP.ingest_first_2b_per_10m_samples / 10_000_000
    assert prometheus.ingestion_cost(samples, AMP) == pytest.approx(samples * rate, rel=1e-12)


def test_storage_is_the_retained_steady_state():
    # 87.6 M samples/month kept 150 days (3,600 h ÷ 730 h = 4.93 months) at 2 bytes:
    # 87.6e6 × 4.9315 × 2 ÷ 2^30 = 0.8047 GB.
    assert prometheus.stored_gb(87_600_000) == pytest.approx(0.8047, abs=1e-3)


def test_the_workspace_and_scraper_are_priced_from_their_usage_tags():
    usage = {TAG_ACTIVE_SERIES: "1000", TAG_SCRAPE_INTERVAL: "30"}
    items = price(
        resource("aws:amp/workspace:Workspace", "ws", {"tags": {**tags(), **usage}}),
        resource("aws:amp/scraper:Scraper", "scraper", {"tags": {**tags(), **usage}}),
    )
    workspace = items["aws:amp/workspace:Workspace"]
    # 87.6 M samples × $0.90/10M = $7.884; 0.8047 GB × $0.03 = $0.0241.
    assert workspace.monthly == pytest.approx(7.884 + 0.0241, abs=1e-3)
    assert "1,000 series × 2,628,000 s/month ÷ 30 s = 87,600,000 samples" in workspace.basis
    # 730 h × $0.04 = $29.20; 87.6 M × $0.01/10M = $0.0876.
    scraper = items["aws:amp/scraper:Scraper"]
    assert scraper.monthly == pytest.approx(29.2876)
    assert scraper.basis == "730 h × $0.04/h + 87,600,000 samples collected × $0.01/10M"


def test_halving_the_interval_doubles_ingestion():
    fast = {TAG_ACTIVE_SERIES: "1000", TAG_SCRAPE_INTERVAL: "15"}
    item = price(resource("aws:amp/workspace:Workspace", "ws", {"tags": {**tags(), **fast}}))
    assert item["aws:amp/workspace:Workspace"].monthly == pytest.approx(
        2 * (7.884 + 0.0241), abs=2e-3
    )


def test_a_workspace_without_usage_says_so():
    item = price(resource("aws:amp/workspace:Workspace", "ws", {"tags": tags()}))
    assert item["aws:amp/workspace:Workspace"].monthly == 0
    assert "no series or scrape interval declared" in item["aws:amp/workspace:Workspace"].basis


def test_a_layered_team_namespace_is_priced_on_its_series():
    # Layered stacks: the workspace carries the interval only; a shard's series are on its
    # first rule namespace (components.monitoring.TeamRuleNamespaces).
    usage = {TAG_ACTIVE_SERIES: "1000", TAG_SCRAPE_INTERVAL: "30"}
    namespace = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
    items = price(
        resource(namespace, "growth", {"tags": {**tags(team="growth"), **usage}}),
        resource(
            "aws:amp/workspace:Workspace", "ws", {"tags": {**tags(), TAG_SCRAPE_INTERVAL: "30"}}
        ),
    )
    # Ingestion $7.884 + storage $0.0241 + collected 87.6 M × $0.01/10M = $0.0876.
    assert items[namespace].monthly == pytest.approx(7.884 + 0.0241 + 0.0876, abs=1e-3)
    assert items["aws:amp/workspace:Workspace"].monthly == 0
    untagged = price(resource(namespace, "recording", {"tags": tags()}))
    assert untagged[namespace].monthly == 0


def test_grafana_is_priced_per_editor_and_viewer():
    users = {TAG_GRAFANA_EDITORS: "3", TAG_GRAFANA_VIEWERS: "10"}
    item = price(resource("aws:grafana/workspace:Workspace", "g", {"tags": {**tags(), **users}}))
    # 3 × $9 + 10 × $5 = $77.
    grafana = item["aws:grafana/workspace:Workspace"]
    assert grafana.monthly == pytest.approx(77.0)
    assert "3 editor × $9.0/month + 10 viewer × $5.0/month" in grafana.basis
