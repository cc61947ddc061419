"""benchmarks/README.md's alert-rules table is what benchmarks/alert_rules.py measures now."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _benchmark():
    spec = importlib.util.spec_from_file_location("alert_rules", ROOT / "benchmarks/alert_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recorded_rule_and_series_counts_match_the_generator():
    text = (ROOT / "benchmarks/README.md").read_text()
    section = text.split("## alert_rules.py", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(
        r"^\| ([\d,]+) \| (platform defaults|each model its own) \|(.+)$", section, re.M
    )
    assert len(rows) == 5
    measure = _benchmark().measure
    for models, objectives, rest in rows:
        cells = [cell.strip() for cell in rest.split("|")]
        measured = measure(int(models.replace(",", "")), objectives != "platform defaults")
        assert int(cells[0].replace(",", "")) == measured["rules"], (models, objectives)
        assert int(cells[1]) == measured["namespaces"]
        assert cells[2] == f"{measured['largest file kB']} kB"
        assert cells[3] == measured["series (min..max replicas)"]
        assert cells[4].startswith("yes" if measured["within quotas"] else "**no**")
        assert cells[5] == measured["AMP $/month at min replicas"], (models, objectives)
