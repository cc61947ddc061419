"""The generated Grafana dashboards: valid for the workspace's Grafana version (the SDK's 10.4
types read back every field), every query reads a metric something in the graph emits, and the
graph holds a fixed number of dashboards however many models there are."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from grafana_foundation_sdk.models.dashboard import Dashboard, VariableRefresh

from infra.declarations.model import TEAM_NAME_MAX
from lifecycle.monitoring import dashboards
from lifecycle.monitoring import metrics as m
from tests.lifecycle.promql_names import selected_metrics

# Built inside each test, not when the module is imported: a board built at import would not
# change with the code under test (mutation testing switches mutants at call time).
BUILDERS = {
    "overview": lambda: dashboards.platform_overview("dev"),
    "team": lambda: dashboards.team_view("dev", "growth"),
    "model": lambda: dashboards.model_view("dev"),
}
EMITTED = {name for names in m.EMITTED.values() for name in names}
LABEL_VALUES = re.compile(r"^label_values\((.*),\s*\w+\)$")


def queries(board: dict) -> list[str]:
    """Every PromQL query of a dashboard: its panels' targets and its variables' (which the
    SDK writes as strings)."""
    found = [target["expr"] for panel in board["panels"] for target in panel["targets"]]
    return found + [variable["query"] for variable in board["templating"].get("list", [])]


def test_the_sdk_release_is_the_workspace_grafana_version():
    sdk = version("grafana-foundation-sdk").split("!")[-1]
    assert sdk.startswith(f"{dashboards.GRAFANA_VERSION}.")


def round_trip(board: dict) -> dict:
    """The board read into the SDK's Grafana 10.4 dashboard types and written back: a field the
    schema does not know (a typo, a newer version's field) is lost on the way."""
    return json.loads(json.dumps(Dashboard.from_json(board).to_json(), default=_encode))


def _encode(value):
    return value.to_json() if hasattr(value, "to_json") else value.value


@pytest.mark.parametrize("name", BUILDERS)
def test_every_dashboard_matches_the_grafana_10_4_schema_types(name):
    board = BUILDERS[name]()
    assert round_trip(board) == board
    assert board["schemaVersion"] == Dashboard().schema_version
    for panel in board["panels"]:
        assert panel["type"] == "timeseries" and panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == dashboards.PROMETHEUS_UID


def test_the_schema_check_catches_a_misspelt_field():
    board = dashboards.model_view("dev")
    board["panels"][0]["titel"] = board["panels"][0].pop("title")
    assert round_trip(board) != board


def promql(query: str) -> str:
    """A variable's ``label_values(<selector>, <label>)`` is its selector; panels are PromQL."""
    match = LABEL_VALUES.match(query.strip())
    return match.group(1) if match else query


@pytest.mark.parametrize("name", BUILDERS)
def test_every_query_reads_only_emitted_metrics(name):
    selected = set()
    for query in queries(BUILDERS[name]()):
        selected |= selected_metrics(promql(query))
    assert selected, name
    assert selected <= EMITTED, selected - EMITTED


def test_a_query_of_a_metric_nobody_emits_would_be_caught():
    assert not selected_metrics(promql("label_values(http_requests_total, job)")) <= EMITTED


def test_the_model_view_is_templated_by_team_and_model():
    board = dashboards.model_view("dev")
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert set(variables) == {"team", "model"}
    assert "$team" in variables["model"]["query"]
    assert {v["query"] for v in variables.values()} <= set(queries(board))
    # Read again each time the dashboard opens: a model deployed since appears in the list.
    assert all(v["refresh"] == VariableRefresh.ON_DASHBOARD_LOAD.value for v in variables.values())
    for query in queries(board):
        if not query.startswith("label_values"):
            assert "$model" in query, query


@pytest.mark.slow
def test_the_graph_holds_two_dashboards_and_one_per_team_whatever_the_models(stack_export):
    from infra.loader import load_environment, read_stack_config

    spec = load_environment("staging", read_stack_config("staging"))
    export = stack_export("staging")
    boards = [
        json.loads(r["inputs"]["configJson"])
        for r in export["deployment"]["resources"]
        if r["type"] == "grafana:oss/dashboard:Dashboard"
    ]
    assert len(boards) == 2 + len(spec.teams)
    expected = [dashboards.platform_overview("staging"), dashboards.model_view("staging")] + [
        dashboards.team_view("staging", team.name) for team in spec.teams
    ]
    assert sorted(b["uid"] for b in boards) == sorted(b["uid"] for b in expected)
    by_uid = {b["uid"]: b for b in boards}
    for board in expected:
        assert by_uid[board["uid"]] == board


# Grafana's unit ids (packages/grafana-data/src/valueFormats/categories.ts): the misc, time,
# data and throughput categories. A unit Grafana does not know is drawn as a bare number.
GRAFANA_UNITS = {
    *("none", "short", "percent", "percentunit", "sci", "locale"),
    *("hertz", "ns", "µs", "ms", "s", "m", "h", "d", "dtdurationms", "dtdurations"),
    *("bits", "bytes", "kbytes", "mbytes", "gbytes", "decbits", "decbytes", "deckbytes"),
    *("decmbytes", "decgbytes", "cps", "ops", "reqps", "rps", "wps", "iops"),
    *("cpm", "opm", "rpm", "wpm"),
}


@pytest.mark.parametrize("name", BUILDERS)
def test_every_panel_draws_its_queries_in_a_unit_grafana_knows(name):
    for panel in BUILDERS[name]()["panels"]:
        unit = panel["fieldConfig"]["defaults"]["unit"]
        assert unit in GRAFANA_UNITS, (panel["title"], unit)


def test_a_latency_quantiles_legend_names_the_quantile_it_draws():
    (panel,) = [p for p in dashboards.model_view("dev")["panels"] if "histogram_quantile" in str(p)]
    for target in panel["targets"]:
        quantile = re.match(r"histogram_quantile\(([0-9.]+),", target["expr"]).group(1)
        assert 0 < float(quantile) < 1  # outside, histogram_quantile answers +-Inf
        assert target["legendFormat"] == f"p{round(float(quantile) * 100)}"
    assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"]) == 3


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_uid_fits_grafana_and_no_two_are_the_same(environment):
    """The longest team names (34 characters), two of them alike but for their end."""
    long_a = "a" * (TEAM_NAME_MAX - 1) + "x"
    long_b = "a" * (TEAM_NAME_MAX - 1) + "y"
    teams = ["fraud", long_a, long_b]
    uids = [
        dashboards.platform_overview(environment)["uid"],
        dashboards.model_view(environment)["uid"],
        *(dashboards.team_view(environment, team)["uid"] for team in teams),
        *(dashboards.team_folder_uid(environment, team) for team in teams),
    ]
    for uid in uids:
        assert len(uid) <= dashboards.UID_MAX and re.fullmatch(r"[a-zA-Z0-9_-]+", uid), uid
    assert len(set(uids)) == len(uids)
    # A uid that fits is kept as it is: the deployed dashboards of short names keep theirs.
    assert dashboards.team_view(environment, "fraud")["uid"] == f"mlplat-{environment}-team-fraud"
    assert dashboards.team_folder_uid(environment, "fraud") == f"mlplat-{environment}-fraud"


def test_a_cut_uid_never_changes():
    """A cut uid is a Grafana object's identity: a different cut (another digest length or
    hash) would replace every long-named team's folder and dashboard, so it is fixed here."""
    name = "mlplat-staging-team-" + "a" * TEAM_NAME_MAX
    assert dashboards.grafana_uid(name) == "mlplat-staging-team-aaaaaaa-3220e58e6657"


def test_a_uid_is_cut_only_past_grafanas_limit():
    fits = "u" * dashboards.UID_MAX
    assert dashboards.grafana_uid(fits) == fits
    longer = dashboards.grafana_uid(fits + "v")
    assert len(longer) == dashboards.UID_MAX and longer != fits
    assert longer.startswith("u" * 20)


def readme_dashboards() -> dict[str, tuple[str, list[str]]]:
    """The README's dashboard table (section "Alerts on EKS models"): title -> uid, panels."""
    text = (Path(__file__).parents[2] / "README.md").read_text()
    rows = re.findall(r"^\| `(mlplat <env>: [^`]+)` \| `([^`]+)` \| ([^|\n]+) \|$", text, re.M)
    return {title: (uid, panels.strip().split("; ")) for title, uid, panels in rows}


def test_the_dashboards_are_the_ones_the_readme_shows_the_teams():
    documented = readme_dashboards()
    assert len(documented) == len(BUILDERS)
    for board in (builder() for builder in BUILDERS.values()):
        title = board["title"].replace("mlplat dev:", "mlplat <env>:").replace("growth", "<team>")
        uid = board["uid"].replace("-dev-", "-<env>-").replace("growth", "<team>")
        assert documented[title] == (uid, [panel["title"] for panel in board["panels"]]), title


LEGEND = re.compile(r"^(\{\{\w+\}\}(/\{\{\w+\}\})*|[a-z0-9]+)$")


@pytest.mark.parametrize("name", BUILDERS)
def test_every_legend_names_its_series_by_their_labels_or_one_word(name):
    """A query drawing several series tells them apart by labels the query keeps; a query of
    one series (``max(...)``, ``sum(...)``) says in one word what it is."""
    for panel in BUILDERS[name]()["panels"]:
        for target in panel["targets"]:
            legend = target["legendFormat"]
            assert LEGEND.match(legend), (panel["title"], legend)
            for label in re.findall(r"\{\{(\w+)\}\}", legend):
                by = re.search(r"\bby \(([^)]*)\)", target["expr"], re.IGNORECASE)
                kept = {"namespace", "model", "deployment", "pod", "code"}
                assert label in (set(by.group(1).replace(" ", "").split(",")) if by else kept)


def test_the_model_views_variables_are_shown_by_their_names():
    board = dashboards.model_view("dev")
    for variable in board["templating"]["list"]:
        assert variable["label"].lower() == variable["name"], variable
        assert variable["datasource"]["uid"] == dashboards.PROMETHEUS_UID


@pytest.mark.parametrize("name", BUILDERS)
def test_every_dashboard_shows_the_last_hours_refreshed_slower_than_the_scrape(name):
    """Refreshing faster than samples arrive (every 10 to 300 s) redraws the same data."""
    board = BUILDERS[name]()
    assert re.fullmatch(r"now-\d+[mhd]", board["time"]["from"]), board["time"]
    assert board["time"]["to"] == "now"
    amount, unit = re.fullmatch(r"(\d+)([smh])", board["refresh"]).groups()
    assert 30 <= int(amount) * {"s": 1, "m": 60, "h": 3600}[unit] <= 3600
    assert set(dashboards.TAGS) <= set(board["tags"])
    if name == "team":  # Grafana's search finds a team's dashboards by this tag
        assert "team:growth" in board["tags"]


def expected_unit(expr: str) -> str:
    """What a query measures, read from the series it divides or draws."""
    if f"{m.ERROR_RATE}" in expr and "/" in expr:
        return "percentunit"  # errors over requests: a ratio
    if m.REQUEST_RATE in expr or f"rate({m.RESPONSES}" in expr:
        return "reqps"
    if m.LATENCY_P99 in expr or "histogram_quantile" in expr:
        return "s"
    if m.GPU_UTIL in expr:
        return "percent"  # dcgm-exporter's utilisation is 0-100
    if m.GPU_MEMORY_USED in expr:
        return "decmbytes"  # dcgm-exporter's framebuffer counters are MiB
    return "short"  # counts: restarts, replicas


@pytest.mark.parametrize("name", BUILDERS)
def test_every_panel_draws_in_the_unit_of_what_its_queries_measure(name):
    for panel in BUILDERS[name]()["panels"]:
        units = {expected_unit(target["expr"]) for target in panel["targets"]}
        assert units == {panel["fieldConfig"]["defaults"]["unit"]}, panel["title"]


@pytest.mark.parametrize("name", BUILDERS)
def test_panels_fill_grafanas_24_column_rows(name):
    for panel in BUILDERS[name]()["panels"]:
        assert 24 % panel["gridPos"]["w"] == 0 and panel["gridPos"]["h"] > 0, panel["title"]


def test_the_model_view_draws_its_replicas_against_the_hpa_maximum():
    exprs = [
        [target["expr"] for target in panel["targets"]]
        for panel in dashboards.model_view("dev")["panels"]
    ]
    assert any(
        any(m.HPA_CURRENT in e for e in panel) and any(m.HPA_MAX in e for e in panel)
        for panel in exprs
    )
