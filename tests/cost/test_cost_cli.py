"""`mlplat cost` and `mlplat prices refresh` end to end through typer."""

from __future__ import annotations

import json

import pytest
import typer
from cost_exports import budget, export, model_budget, multi_model_endpoint, resource, tags
from cost_price_list import stubbed
from typer.testing import CliRunner

from cost_model.prices import load_snapshot
from mlplat.cost import refresh as refresh_module
from mlplat.cost.cli import cost_command, prices_app

MODELS = [
    {"name": "fraud", "team": "risk", "memoryMb": 3072},
    {"name": "churn", "team": "growth", "memoryMb": 1024},
]


@pytest.fixture()
def cli():
    app = typer.Typer()
    app.command("cost")(cost_command)
    app.add_typer(prices_app, name="prices")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), env={"COLUMNS": "220"})


@pytest.fixture()
def export_file(tmp_path):
    document = export(
        *multi_model_endpoint("cpu-mme", "ml.m5.xlarge", MODELS, min_capacity=2, max_capacity=4),
        resource("aws:kms/key:Key", "platform-key", {"tags": tags()}),
        budget("risk-budget", "200", team="risk"),
        budget("dev-budget", "5000"),
    )
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(document))
    return path


def test_cost_json_document(cli, export_file):
    result = cli("cost", "--file", str(export_file), "--json", "--as-of", "2026-11-28")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    # $335.80 for the endpoint (75% risk, 25% growth) + $1 for the key.
    assert document["currency"] == "USD"
    assert document["total_monthly"] == 336.80
    assert document["by_team"] == {"(shared)": 1.0, "growth": 83.95, "risk": 251.85}
    assert document["by_model"] == {"(shared)": 1.0, "churn": 83.95, "fraud": 251.85}
    assert document["by_environment"] == {"dev": 336.80}
    first = document["resources"][0]
    assert {"urn", "type", "monthly", "basis"} <= set(first)
    assert first["type"] == "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
    assert first["range"] == [335.80, 671.60]
    statuses = {b["subject"]: b["status"] for b in document["budgets"]}
    assert statuses == {"risk": "over", "dev": "within"}


def test_cost_table_reports_budgets_exceeded(cli, export_file):
    result = cli("cost", "--file", str(export_file))
    assert result.exit_code == 0, result.output
    assert (
        "cpu-mme-config" in result.output and "2 × ml.m5.xlarge × 730 h × $0.23/h" in result.output
    )
    assert "over budget: team 'risk' is estimated at 251.85 USD/month" in result.output


def test_cost_needs_exactly_one_source(cli, export_file):
    assert cli("cost").exit_code == 2
    assert cli("cost", "--stack", "dev", "--file", str(export_file)).exit_code == 2


def test_cost_errors_are_clean(cli, tmp_path):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(export(*multi_model_endpoint("odd", "ml.x99.huge", [], initial=1))))
    result = cli("cost", "--file", str(path))
    assert result.exit_code == 2
    assert "'ml.x99.huge'" in result.output and "Traceback" not in result.output
    path.write_text(json.dumps({"version": 2}))
    assert "version 3" in cli("cost", "--file", str(path)).output


def test_prices_refresh_writes_the_snapshot(cli, tmp_path, monkeypatch):
    client, stubber = stubbed({"us-east-1": "USE1"})
    monkeypatch.setattr(refresh_module, "pricing_client", lambda: client)
    out = tmp_path / "prices.json"
    with stubber:
        result = cli(
            "prices",
            "refresh",
            "--regions",
            "us-east-1",
            "--instance-types",
            "m5.large,g5.xlarge",
            "--out",
            str(out),
        )
    assert result.exit_code == 0, result.output
    snapshot = load_snapshot(out)
    assert set(snapshot.regions) == {"us-east-1"}
    assert snapshot.region("us-east-1").ec2_instance_hour == {"g5.xlarge": 1.006, "m5.large": 0.096}


def test_prices_refresh_without_credentials_is_a_clean_error(cli, tmp_path, no_aws_credentials):
    out = tmp_path / "prices.json"
    result = cli("prices", "refresh", "--out", str(out))
    assert result.exit_code == 2
    assert "no AWS credentials found" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_cost_shows_each_models_budget_and_status(cli, tmp_path):
    document = export(
        *multi_model_endpoint("cpu-mme", "ml.m5.xlarge", MODELS, min_capacity=2, max_capacity=4),
        model_budget("fraud", "risk", 200),
        model_budget("churn", "growth", 100),
    )
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(document))
    result = cli("cost", "--file", str(path), "--json")
    assert result.exit_code == 0, result.output
    budgets = {b["subject"]: b for b in json.loads(result.output)["budgets"]}
    assert budgets["fraud"]["scope"] == "model" and budgets["fraud"]["status"] == "over"
    assert budgets["fraud"]["estimate_range"] == [251.85, 503.70]
    assert budgets["churn"]["status"] == "at risk"  # $83.95 at the minimum, $167.90 at the max
    table = cli("cost", "--file", str(path))
    assert "over budget: model 'fraud' is estimated at 251.85 USD/month" in table.output


BOX_AND_ESCAPE = set("│┃─━┌┐└┘├┤┬┴┼╭╮╰╯\x1b")


def _words(text: str) -> set[str]:
    return set("".join(" " if c in BOX_AND_ESCAPE else c for c in text).split())


@pytest.mark.slow
def test_cost_report_reads_at_80_columns_without_a_broken_word(stack_export):
    """In an 80-column terminal every line fits and every word of every cell is whole."""
    import datetime as dt

    from rich.console import Console

    from cost_model.budgets import check_budgets
    from cost_model.estimate import EstimateOptions, estimate
    from cost_model.graph import Graph
    from mlplat.cost.report import _owner, print_report

    graph = Graph.from_export(stack_export("dev"))
    result = estimate(graph, load_snapshot(), EstimateOptions(as_of=dt.date(2026, 11, 28)))
    console = Console(width=80, force_terminal=True, color_system=None, record=True)
    with console.capture() as captured:
        print_report(result, check_budgets(graph, result), console)
    output = captured.get()
    assert max(len(line) for line in output.splitlines()) <= 80
    words = _words(output)
    for item in result.items:
        for cell in (item.urn.rsplit("::", 1)[-1], _owner(item), item.basis):
            assert set(cell.split()) <= words, cell


@pytest.mark.slow
def test_cost_piped_is_plain_with_one_line_per_resource(cli, stack_export, tmp_path):
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(stack_export("dev")))
    result = cli("cost", "--file", str(path), "--json")
    resources = json.loads(result.output)["resources"]
    piped = CliRunner().invoke(typer_app_for_cost(), ["--file", str(path)], env={"COLUMNS": "80"})
    assert piped.exit_code == 0, piped.output
    assert not set(piped.output) & BOX_AND_ESCAPE
    lines = piped.output.splitlines()
    for entry in resources:  # name, amount and basis of a resource: on one line, grep finds it
        name = entry["urn"].rsplit("::", 1)[-1]
        assert any(
            name in line and f"${entry['monthly']:,.2f}" in line and entry["basis"] in line
            for line in lines
        ), name


def typer_app_for_cost():
    app = typer.Typer()
    app.command()(cost_command)
    return app
