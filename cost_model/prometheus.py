"""What AMP and Amazon Managed Grafana cost, with the arithmetic written out.

AMP bills every sample ingested (tiered per month), the samples stored (GB-month; "typically
1 or 2 bytes" a sample, AMP's pricing page: 2 taken, the dearer reading) and a managed
collector's hours and the samples it collects. Samples come from the declared scrape interval
and the series estimate (``lifecycle.monitoring.metrics``), which the monitoring component writes
on the workspace and the scraper as usage tags. Stored data is the steady state of AMP's default
150-day retention. Query samples (dashboards, rule evaluation) are not estimated: they depend on
who looks and how often.
"""

from __future__ import annotations

from dataclasses import dataclass

from cost_model.prices import HOURS_PER_MONTH, AmpPrices, GrafanaPrices
from infra.declarations.tags import (
    TAG_ACTIVE_SERIES,
    TAG_GRAFANA_EDITORS,
    TAG_GRAFANA_VIEWERS,
    TAG_SCRAPE_INTERVAL,
)

SERIES_TAG = TAG_ACTIVE_SERIES
INTERVAL_TAG = TAG_SCRAPE_INTERVAL
EDITORS_TAG = TAG_GRAFANA_EDITORS
VIEWERS_TAG = TAG_GRAFANA_VIEWERS

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
RETENTION_DAYS = 150  # AMP's default retention
BYTES_PER_SAMPLE = 2
GIB = 2**30  # AMP: "1GB is 2^30 bytes"
TEN_MILLION = 10_000_000
FIRST_TIER, SECOND_TIER = 2e9, 250e9


def samples_per_month(series: float, interval_seconds: float) -> float:
    return series * SECONDS_PER_MONTH / interval_seconds


def ingestion_cost(samples: float, prices: AmpPrices) -> float:
    first = min(samples, FIRST_TIER)
    second = min(max(samples - FIRST_TIER, 0), SECOND_TIER)
    rest = max(samples - FIRST_TIER - SECOND_TIER, 0)
    return (
        first * prices.ingest_first_2b_per_10m_samples
        + second * prices.ingest_next_250b_per_10m_samples
        + rest * prices.ingest_over_252b_per_10m_samples
    ) / TEN_MILLION


def stored_gb(samples_month: float) -> float:
    retained_months = RETENTION_DAYS * 24 / HOURS_PER_MONTH
    return samples_month * retained_months * BYTES_PER_SAMPLE / GIB


@dataclass(frozen=True)
class AmpCost:
    series: float
    interval_seconds: float
    samples: float
    ingestion: float
    storage_gb: float
    storage: float

    @property
    def monthly(self) -> float:
        return self.ingestion + self.storage

    def basis(self, prices: AmpPrices) -> str:
        return (
            f"{self.series:,.0f} series × {SECONDS_PER_MONTH:,} s/month ÷ "
            f"{self.interval_seconds:g} s = {self.samples:,.0f} samples; ingestion "
            f"${self.ingestion:,.2f} (${prices.ingest_first_2b_per_10m_samples}/10M to 2B, "
            f"${prices.ingest_next_250b_per_10m_samples}/10M to 252B, "
            f"${prices.ingest_over_252b_per_10m_samples}/10M beyond); storage "
            f"{self.storage_gb:,.2f} GB ({RETENTION_DAYS} days × {BYTES_PER_SAMPLE} B/sample) × "
            f"${prices.storage_gb_month}/GB-month = ${self.storage:,.2f}"
        )


def amp_cost(series: float, interval_seconds: float, prices: AmpPrices) -> AmpCost:
    samples = samples_per_month(series, interval_seconds)
    gigabytes = stored_gb(samples)
    return AmpCost(
        series=series,
        interval_seconds=interval_seconds,
        samples=samples,
        ingestion=ingestion_cost(samples, prices),
        storage_gb=gigabytes,
        storage=gigabytes * prices.storage_gb_month,
    )


def collector_cost(samples: float, prices: AmpPrices) -> tuple[float, str]:
    hours = HOURS_PER_MONTH * prices.collector_hour
    collected = samples / TEN_MILLION * prices.collected_per_10m_samples
    basis = (
        f"{HOURS_PER_MONTH} h × ${prices.collector_hour}/h + {samples:,.0f} samples collected × "
        f"${prices.collected_per_10m_samples}/10M"
    )
    return hours + collected, basis


def grafana_cost(editors: int, viewers: int, prices: GrafanaPrices) -> tuple[float, str]:
    cost = editors * prices.editor_month + viewers * prices.viewer_month
    basis = (
        f"{editors} editor × ${prices.editor_month}/month + {viewers} viewer × "
        f"${prices.viewer_month}/month (active users)"
    )
    return cost, basis
