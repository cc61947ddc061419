"""What a change costs: `mlplat.cost.compare` on hand-computed cases, and
`mlplat cost --against`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cost_exports import export, multi_model_endpoint, resource, tags
from typer.testing import CliRunner

from cost_model.estimate import EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import load_snapshot
from mlplat.cli import app
from mlplat.cost.compare import CostChange
from mlplat.plan_diff import Change

# ml.m5.xlarge in us-east-1 is $0.23 an hour in the snapshot: $167.90 per instance-month.
FRAUD = {"name": "fraud", "team": "risk", "memoryMb": 3072}
CHURN = {"name": "churn", "team": "growth", "memoryMb": 1024}
DISPUTE = {"name": "dispute", "team": "risk", "memoryMb": 1024}
KEY = resource("aws:kms/key:Key", "platform-key", {"tags": tags()})


def _base() -> dict:
    # 2 instances, $335.80: fraud 75% ($251.85), churn 25% ($83.95); the key $1.
    return export(
        *multi_model_endpoint(
            "cpu-mme", "ml.m5.xlarge", [FRAUD, CHURN], min_capacity=2, max_capacity=4
        ),
        KEY,
    )


def _with_dispute() -> dict:
    # A third model joins and the endpoint's floor rises to 3: $503.70 split by memory 3:1:1.
    return export(
        *multi_model_endpoint(
            "cpu-mme", "ml.m5.xlarge", [FRAUD, CHURN, DISPUTE], min_capacity=3, max_capacity=4
        ),
        KEY,
    )


def _change(base: dict, new: dict) -> CostChange:
    snapshot = load_snapshot()
    options = EstimateOptions()

    def priced(document: dict):
        return estimate(Graph.from_export(document), snapshot, options)

    return CostChange(priced(base), priced(new))


def test_a_model_joining_a_shared_endpoint_costs_its_share_and_moves_the_others():
    change = _change(_base(), _with_dispute())
    total = change.total
    assert (round(total.base.monthly, 2), round(total.new.monthly, 2)) == (336.80, 504.70)
    assert round(total.delta.monthly, 2) == 167.90
    assert round(total.delta.max_monthly, 2) == 0  # the ceiling (4 instances) did not move

    models = {name: round(c.delta.monthly, 2) for name, c in change.by("model").items()}
    # fraud 60% of $503.70 = $302.22 (+50.37), churn 20% = $100.74 (+16.79), dispute $100.74.
    assert models == {"fraud": 50.37, "churn": 16.79, "dispute": 100.74}
    teams = {name: round(c.delta.monthly, 2) for name, c in change.by("team").items()}
    assert teams == {"risk": 151.11, "growth": 16.79}
    assert sum(models.values()) == pytest.approx(total.delta.monthly, abs=0.01)

    (item,) = change.items()  # the key's cost did not change, so only the endpoint is listed
    assert item.kind is Change.UPDATE
    assert item.item.type == "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
    assert round(item.amount.delta.monthly, 2) == 167.90


def test_a_split_that_moves_without_a_cost_change_is_listed():
    bigger_churn = {**CHURN, "memoryMb": 3072}  # same instances, a 50/50 split now
    base = _base()
    new = export(
        *multi_model_endpoint(
            "cpu-mme", "ml.m5.xlarge", [FRAUD, bigger_churn], min_capacity=2, max_capacity=4
        ),
        KEY,
    )
    change = _change(base, new)
    assert not change.total.changed
    (item,) = change.items()
    assert item.kind is Change.UPDATE and not item.amount.changed
    models = {name: round(c.delta.monthly, 2) for name, c in change.by("model").items()}
    assert models == {"fraud": -83.95, "churn": 83.95}


def test_a_resource_that_changes_owner_is_listed_though_its_cost_does_not_move():
    def with_key(team: str) -> dict:
        key = resource("aws:kms/key:Key", "team-key", {"tags": tags(team=team)})
        return export(key)

    change = _change(with_key("risk"), with_key("growth"))
    assert not change.total.changed
    (item,) = change.items()
    assert item.kind is Change.UPDATE and item.item.team == "growth"
    teams = {name: round(c.delta.monthly, 2) for name, c in change.by("team").items()}
    assert teams == {"growth": 1.0, "risk": -1.0}
    # The same models in another order are the same owners: nothing to list.
    reordered = export(
        *multi_model_endpoint(
            "cpu-mme", "ml.m5.xlarge", [CHURN, FRAUD], min_capacity=2, max_capacity=4
        ),
        KEY,
    )
    assert _change(_base(), reordered).items() == []


def test_created_and_deleted_resources_cost_from_and_to_nothing():
    new = export(
        *multi_model_endpoint(
            "cpu-mme", "ml.m5.xlarge", [FRAUD, CHURN], min_capacity=2, max_capacity=4
        )
    )
    change = _change(_base(), new)
    (deleted,) = change.items()
    assert deleted.kind is Change.DELETE and deleted.item.type == "aws:kms/key:Key"
    assert (deleted.amount.base.monthly, deleted.amount.new.monthly) == (1.0, 0.0)
    assert _change(new, _base()).items()[0].kind is Change.CREATE


@pytest.fixture()
def cli():
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), env={"COLUMNS": "250"})


def _write(tmp_path: Path, name: str, document: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def test_cost_against_a_base_as_json(cli, tmp_path):
    base = _write(tmp_path, "base.json", _base())
    new = _write(tmp_path, "new.json", _with_dispute())
    result = cli("cost", "--file", new, "--against", base, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert (document["base_total_monthly"], document["total_monthly"]) == (336.80, 504.70)
    assert document["delta_monthly"] == 167.90
    assert document["delta_range"] == [167.90, 0.0]
    # At max both run 4 instances ($671.60): risk had 75% ($503.70), now 80% ($537.28).
    assert document["by_team"]["risk"] == {
        "base": 251.85,
        "new": 402.96,
        "delta": 151.11,
        "delta_range": [151.11, 33.58],
    }
    (entry,) = document["resources"]
    assert entry["change"] == "update" and entry["delta"] == 167.90
    assert entry["type"] == "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


def test_a_difference_that_rounds_to_nothing_is_printed_as_zero_not_minus_zero():
    from mlplat.cost.report import _cents

    assert repr(_cents(0.1 + 0.2 - 0.3 - 1e-12)) == "0.0"
    assert repr(_cents(-1e-12)) == "0.0"


def test_cost_against_a_base_as_tables(cli, tmp_path):
    base = _write(tmp_path, "base.json", _base())
    new = _write(tmp_path, "new.json", _with_dispute())
    result = cli("cost", "--file", new, "--against", base)
    assert result.exit_code == 0, result.output
    assert "Monthly cost change against the base" in result.output
    assert "+$167.90" in result.output  # the endpoint and the total
    assert "Totals the change moves" in result.output and "+$100.74" in result.output


def test_cost_against_a_bad_base_names_it(cli, tmp_path):
    base = tmp_path / "base.json"
    base.write_text("{")
    new = _write(tmp_path, "new.json", _base())
    result = cli("cost", "--file", new, "--against", str(base))
    assert result.exit_code == 2
    assert f"--against {base}" in result.output and "not JSON" in result.output


def test_a_raised_ceiling_alone_is_a_change():
    """Same floor, max capacity 4 -> 6: nothing more now, $335.80 more at maximum scale."""
    taller = export(
        *multi_model_endpoint(
            "cpu-mme", "ml.m5.xlarge", [FRAUD, CHURN], min_capacity=2, max_capacity=6
        ),
        KEY,
    )
    change = _change(_base(), taller)
    assert round(change.total.delta.monthly, 2) == 0
    assert round(change.total.delta.max_monthly, 2) == 335.80
    (item,) = change.items()
    assert item.kind is Change.UPDATE and round(item.amount.delta.max_monthly, 2) == 335.80
    models = {name: round(c.delta.max_monthly, 2) for name, c in change.by("model").items()}
    assert models == {"fraud": 251.85, "churn": 83.95}
