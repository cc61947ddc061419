"""`mlplat cost --against` carries the plan diff's replacements: a priced resource the change
replaces is marked so, and every replacement is listed with its cause."""

from __future__ import annotations

import json

from cost_exports import export, multi_model_endpoint
from typer.testing import CliRunner

from mlplat.cli import app
from mlplat.offline import GENERATOR

CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
FRAUD = {"name": "fraud", "team": "risk", "memoryMb": 3072}


def _endpoint(instance_type: str, *, offline: bool = True) -> dict:
    document = export(
        *multi_model_endpoint("cpu-mme", instance_type, [FRAUD], min_capacity=2, max_capacity=4)
    )
    if offline:
        document["deployment"]["manifest"]["generator"] = GENERATOR
    return document


def _cost_against(tmp_path, base: dict, new: dict, *options: str):
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "new.json").write_text(json.dumps(new))
    return CliRunner().invoke(
        app,
        ["cost", "--file", str(tmp_path / "new.json"), "--against", str(tmp_path / "base.json")]
        + list(options),
        env={"COLUMNS": "250"},
    )


def test_a_larger_instance_type_replaces_the_priced_configuration(tmp_path):
    base, new = _endpoint("ml.m5.xlarge"), _endpoint("ml.m5.2xlarge")
    result = _cost_against(tmp_path, base, new, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    (priced,) = [r for r in document["resources"] if r["type"] == CONFIG]
    assert priced["change"] == "replace" and priced["delta"] > 0
    (replaced,) = document["replacements"]
    assert (replaced["urn"], replaced["replace_on"]) == (priced["urn"], ["productionVariants"])
    assert document["replacements_unjudged"] is None


def test_the_tables_list_the_replacement_and_why(tmp_path):
    result = _cost_against(tmp_path, _endpoint("ml.m5.xlarge"), _endpoint("ml.m5.2xlarge"))
    assert result.exit_code == 0, result.output
    assert "Resources the change replaces" in result.output
    assert "productionVariants cannot change in place" in result.output


def test_replacements_between_exports_not_both_offline_are_said_to_be_unjudged(tmp_path):
    base, new = _endpoint("ml.m5.xlarge", offline=False), _endpoint("ml.m5.2xlarge")
    document = json.loads(_cost_against(tmp_path, base, new, "--json").output)
    assert document["replacements"] == []
    assert "not the offline engine" in document["replacements_unjudged"]
    (priced,) = [r for r in document["resources"] if r["type"] == CONFIG]
    assert priced["change"] == "update"
    text = _cost_against(tmp_path, base, new).output
    assert "replacements not judged" in text
