"""Grafana dashboards for the models on EKS, generated with grafana-foundation-sdk (the release
built for Grafana 10.4, the version the managed workspace runs: ``GRAFANA_VERSION``).

Three dashboards, whatever the number of models (a dashboard per model would be a resource per
model in the stack, against its 1,500-resource budget):
- platform overview: traffic, errors and p99 per team, restarts and GPU use across the cluster;
- team view (one per team folder): the team's models side by side;
- model view: one model chosen with the ``team`` and ``model`` variables (label values of the
  serving series), its traffic, errors, latency, replicas against the HPA maximum and GPU.

Every query reads the series ``lifecycle.monitoring.metrics`` names (the recorded ones where
they exist), so a panel shows only what the scraper collects; a test walks every query
(``tests/lifecycle/test_dashboards.py``).
"""

from __future__ import annotations

import hashlib
import json

from grafana_foundation_sdk.builders import dashboard, prometheus, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh

from infra.declarations.model import TEAM_DASHBOARD
from lifecycle.monitoring import metrics as m
from lifecycle.monitoring.prometheus_rules import POD_SUFFIX

GRAFANA_VERSION = "10.4"  # the managed workspace's grafana_version; the SDK release matches it
PROMETHEUS_UID = "mlplat-amp"  # the AMP data source (components.grafana)
PROMETHEUS = DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)
TAGS = ["mlplat", "generated"]
# Grafana refuses a dashboard or folder uid over 40 characters ("uid too long, max 40
# characters": grafana pkg/services/dashboards/errors.go, ErrDashboardUidTooLong); a team's
# uids hold its name, up to 34 characters.
UID_MAX = 40


def grafana_uid(name: str) -> str:
    """``name`` when Grafana takes it; else its start and a digest of the whole, so two long
    names with the same start stay apart (and a name that fits keeps its uid)."""
    if len(name) <= UID_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name[: UID_MAX - len(digest) - 1]}-{digest}"


def team_folder_uid(environment: str, team: str) -> str:
    return grafana_uid(f"mlplat-{environment}-{team}")


def _panel(title: str, *queries: tuple[str, str], unit: str = "short", width: int = 12):
    panel = timeseries.Panel().title(title).unit(unit).span(width).height(8).datasource(PROMETHEUS)
    for index, (expr, legend) in enumerate(queries):
        panel = panel.with_target(
            prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + index))
        )
    return panel


def _variable(name: str, query: str, label: str):
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .query(query)
        .datasource(PROMETHEUS)
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
    )


def _to_json(built) -> dict:
    return json.loads(JSONEncoder(sort_keys=True).encode(built.build()))


def platform_overview(environment: str) -> dict:
    by_team = "sum by (namespace)"
    server = f'container="{m.SERVER_CONTAINER}"'
    board = (
        dashboard.Dashboard(f"mlplat {environment}: platform overview")
        .uid(f"mlplat-{environment}-overview")
        .tags(TAGS)
        .refresh("1m")
        .time("now-6h", "now")
        .with_panel(
            _panel(
                "Requests per second by team",
                (f"{by_team} ({m.REQUEST_RATE})", "{{namespace}}"),
                unit="reqps",
            )
        )
        .with_panel(
            _panel(
                "5xx ratio by team",
                (f"{by_team} ({m.ERROR_RATE}) / {by_team} ({m.REQUEST_RATE})", "{{namespace}}"),
                unit="percentunit",
            )
        )
        .with_panel(
            _panel(
                "Slowest models: p99 latency",
                (f"topk(10, {m.LATENCY_P99})", "{{namespace}}/{{model}}"),
                unit="s",
            )
        )
        .with_panel(
            _panel(
                "Model container restarts (1h)",
                (
                    f"{by_team} (increase({m.POD_RESTARTS}{{{server}}}[1h]))",
                    "{{namespace}}",
                ),
            )
        )
        .with_panel(
            _panel(
                "GPU utilisation",
                (f"avg by (namespace, pod) ({m.GPU_UTIL})", "{{namespace}}/{{pod}}"),
                unit="percent",
            )
        )
        .with_panel(
            _panel(
                "GPU memory used",
                (f"sum by (namespace, pod) ({m.GPU_MEMORY_USED})", "{{namespace}}/{{pod}}"),
                unit="decmbytes",
            )
        )
    )
    return _to_json(board)


def team_view(environment: str, team: str) -> dict:
    ns = f'namespace="{team}"'
    board = (
        dashboard.Dashboard(f"mlplat {environment}: {team}")
        .uid(grafana_uid(f"mlplat-{environment}-{TEAM_DASHBOARD.format(team)}"))
        .tags([*TAGS, f"team:{team}"])
        .refresh("1m")
        .time("now-6h", "now")
        .with_panel(
            _panel("Requests per second", (f"{m.REQUEST_RATE}{{{ns}}}", "{{model}}"), unit="reqps")
        )
        .with_panel(
            _panel(
                "5xx ratio",
                (f"{m.ERROR_RATE}{{{ns}}} / {m.REQUEST_RATE}{{{ns}}}", "{{model}}"),
                unit="percentunit",
            )
        )
        .with_panel(_panel("p99 latency", (f"{m.LATENCY_P99}{{{ns}}}", "{{model}}"), unit="s"))
        .with_panel(
            _panel(
                "Replicas available",
                (f"{m.DEPLOYMENT_AVAILABLE}{{{ns}}}", "{{deployment}}"),
            )
        )
    )
    return _to_json(board)


def model_view(environment: str) -> dict:
    sel = 'namespace="$team", model="$model"'
    pods = f'namespace="$team", pod=~"$model{POD_SUFFIX}"'
    hpa = f'namespace="$team", {m.HPA_LABEL}="$model"'
    server = f'{pods}, container="{m.SERVER_CONTAINER}"'
    board = (
        dashboard.Dashboard(f"mlplat {environment}: model")
        .uid(f"mlplat-{environment}-model")
        .tags(TAGS)
        .refresh("1m")
        .time("now-6h", "now")
        .with_variable(_variable("team", f"label_values({m.RESPONSES}, namespace)", "Team"))
        .with_variable(
            _variable("model", f'label_values({m.RESPONSES}{{namespace="$team"}}, model)', "Model")
        )
        .with_panel(
            _panel(
                "Requests per second by status",
                (f"sum by (code) (rate({m.RESPONSES}{{{sel}}}[$__rate_interval]))", "{{code}}"),
                unit="reqps",
            )
        )
        .with_panel(
            _panel(
                "Latency quantiles",
                *(
                    (
                        f"histogram_quantile({q}, sum by (le) "
                        f"(rate({m.REQUEST_DURATION}_bucket{{{sel}}}[$__rate_interval])))",
                        f"p{int(q * 100)}",
                    )
                    for q in (0.5, 0.9, 0.99)
                ),
                unit="s",
            )
        )
        .with_panel(
            _panel(
                "Replicas and the HPA maximum",
                (f"max({m.HPA_CURRENT}{{{hpa}}})", "current"),
                (f"max({m.HPA_MAX}{{{hpa}}})", "maximum"),
            )
        )
        .with_panel(
            _panel(
                "Restarts of the model container (1h)",
                (
                    f"sum(increase({m.POD_RESTARTS}{{{server}}}[1h]))",
                    "restarts",
                ),
            )
        )
        .with_panel(
            _panel(
                "GPU utilisation",
                (f"avg by (pod) ({m.GPU_UTIL}{{{pods}}})", "{{pod}}"),
                unit="percent",
            )
        )
    )
    return _to_json(board)
