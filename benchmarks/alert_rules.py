"""Alert rules at scale: rules, AMP namespaces, rules-file bytes and series for N EKS models.

    python3 -m uv run python benchmarks/alert_rules.py [10 100 1000]

Models are ``lifecycle.monitoring.synthetic.fleet`` (10 teams, one in ten on a GPU, 1-4
replicas): first with the platform's objectives, then with every model given its own.
"""

from __future__ import annotations

import dataclasses
import sys
import time

from cost_model.prices import load_snapshot
from cost_model.prometheus import amp_cost, collector_cost
from lifecycle.monitoring.amp_namespaces import RULES_PER_WORKSPACE, pack, quota_problems
from lifecycle.monitoring.metrics import estimated_series as series
from lifecycle.monitoring.objectives import PLATFORM_DEFAULTS
from lifecycle.monitoring.prometheus_rules import rule_groups
from lifecycle.monitoring.synthetic import fleet

SCRAPE_INTERVAL_SECONDS = 30  # the platform default (MonitoringSettings)
AMP_PRICES = load_snapshot().region("us-east-1").amp


def amp_monthly(active_series: int) -> str:
    """Ingestion + storage + the managed collector, us-east-1, 30 s scrapes (mlplat cost's
    arithmetic, cost_model/prometheus.py)."""
    workspace = amp_cost(active_series, SCRAPE_INTERVAL_SECONDS, AMP_PRICES)
    collector, _ = collector_cost(workspace.samples, AMP_PRICES)
    return f"${workspace.monthly + collector:,.2f} (ingest ${workspace.ingestion:,.2f})"


def measure(count: int, own_objectives: bool) -> dict:
    models = fleet(count)

    def objectives(model):
        if not own_objectives:
            return PLATFORM_DEFAULTS
        return dataclasses.replace(
            PLATFORM_DEFAULTS, latency_p99_seconds=0.25 + models.index(model) / 1e4
        )

    start = time.perf_counter()
    namespaces = pack("prod", rule_groups(models, objectives))
    seconds = time.perf_counter() - start
    return {
        "models": count,
        "objectives": "own per model" if own_objectives else "platform defaults",
        "rules": sum(n.rule_count for n in namespaces),
        "namespaces": len(namespaces),
        "largest file kB": round(max(len(n.data.encode()) for n in namespaces) / 1000, 1),
        "series (min..max replicas)": f"{series(models, 'min'):,}..{series(models, 'max'):,}",
        "within quotas": not quota_problems(namespaces),
        "AMP $/month at min replicas": amp_monthly(series(models, "min")),
        "generate s": round(seconds, 2),
    }


def main(counts: list[int]) -> None:
    rows = [measure(count, own) for own in (False, True) for count in counts]
    print(f"rules per workspace quota: {RULES_PER_WORKSPACE}")
    print(" | ".join(rows[0]))
    for row in rows:
        print(" | ".join(str(value) for value in row.values()))


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10, 100, 1000])
