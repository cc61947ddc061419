"""The generated rules: valid for Prometheus (``promtool check rules``), one set of alerts for
every declared EKS model with its team, and within AMP's quotas at 1,000 models."""

from __future__ import annotations

import dataclasses
import re
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from infra.loader import load_environment, read_stack_config
from lifecycle.monitoring import __main__ as cli
from lifecycle.monitoring import amp_namespaces
from lifecycle.monitoring.amp_namespaces import pack, quota_problems
from lifecycle.monitoring.objectives import PLATFORM_DEFAULTS
from lifecycle.monitoring.prometheus_rules import POD_SUFFIX, rule_groups
from lifecycle.monitoring.synthetic import fleet
from tests.conftest import STACKS
from tests.lifecycle import promtool

ALERTS = {
    "ModelLatencyP99OverObjective",
    "ModelErrorRatioOverObjective",
    "ModelPodRestarting",
    "ModelReplicasAtHpaMaximum",
    "ModelNoTraffic",
}
GPU_ALERT = "ModelGpuSaturated"


def covered_models(rule: dict) -> set[str]:
    """The model names a rule's matchers select (``model=~"a|b"``, ``pod=~"(a|b)-..."``)."""
    names = set()
    for pattern in re.findall(r'=~"([^"]+)"', rule["expr"]):
        if "-[" in pattern and not pattern.startswith("("):
            continue  # label_replace's extraction pattern, not a selector
        names |= set(pattern.removesuffix(POD_SUFFIX).strip("()").split("|"))
    return names - {"5.."}


def alerts_by_model(groups_by_team: dict[str, list[dict]]) -> dict[str, dict[str, set[str]]]:
    """model -> alert name -> teams of the rules that cover it."""
    found: dict[str, dict[str, set[str]]] = {}
    for groups in groups_by_team.values():
        for group in groups:
            for rule in group["rules"]:
                if "alert" in rule:
                    for model in covered_models(rule):
                        found.setdefault(model, {}).setdefault(rule["alert"], set()).add(
                            rule["labels"]["team"]
                        )
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_eks_model_of_a_stack_has_its_alerts_with_its_team(stack):
    models = load_environment(stack, read_stack_config(stack)).models
    found = alerts_by_model(rule_groups(models))
    for model in models:
        if model.serving != "eks":
            assert model.name not in found, f"{model.name} is not served on EKS"
            continue
        expected = ALERTS | ({GPU_ALERT} if model.uses_gpu else set())
        assert set(found[model.name]) == expected, model.name
        for alert, teams in found[model.name].items():
            assert teams == {model.team}, (model.name, alert)


def test_every_alert_has_labels_and_annotations_for_routing_and_triage():
    for groups in rule_groups(fleet(30, teams=3)).values():
        for group in groups:
            for rule in group["rules"]:
                if "alert" in rule:
                    assert set(rule["labels"]) == {"team", "severity"}
                    assert set(rule["annotations"]) == {"summary", "runbook_url"}
                    assert "{{ $labels.model }}" in rule["annotations"]["summary"]
                    # ``model`` comes from the series: every expression keeps or makes it.
                    assert "model" in rule["expr"]


@pytest.mark.parametrize("stack", STACKS)
def test_each_stacks_rules_files_pass_promtool_check(stack, tmp_path, capsys):
    assert cli.main(["--stack", stack, "--out", str(tmp_path)]) == 0
    files = sorted(tmp_path.glob("*.yaml"))
    assert files
    result = promtool.run("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_thousand_model_fleet_passes_promtool_and_amps_quotas(tmp_path):
    models = fleet(1000)
    namespaces = pack("prod", rule_groups(models))
    assert quota_problems(namespaces) == []
    found = alerts_by_model({n.name: list(n.groups) for n in namespaces})
    assert set(found) == {model.name for model in models}
    for namespace in namespaces:
        (tmp_path / f"{namespace.name}.yaml").write_text(namespace.data)
    result = promtool.run("check", "rules", *sorted(tmp_path.glob("*.yaml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_quota_check_reports_a_fleet_whose_models_each_have_their_own_objectives():
    models = fleet(1000)
    own = {
        model.name: dataclasses.replace(PLATFORM_DEFAULTS, latency_p99_seconds=0.25 + i / 10_000)
        for i, model in enumerate(models)
    }
    namespaces = pack("prod", rule_groups(models, lambda model: own[model.name]))
    problems = quota_problems(namespaces)
    assert any("an AMP workspace holds 2000" in problem for problem in problems), problems


def test_a_team_whose_rules_outgrow_one_namespace_is_split(monkeypatch):
    groups = rule_groups(fleet(600, teams=1))
    one_file = len(amp_namespaces.rules_file(groups["team-00"]).encode())
    monkeypatch.setattr(amp_namespaces, "NAMESPACE_DATA_MAX_BYTES", one_file // 2)
    namespaces = [n for n in pack("dev", groups) if "team-00" in n.name]
    assert len(namespaces) > 1
    # ``_<n>``: a team name (a DNS label) has no ``_``, so no other team's name is reached.
    assert [n.name for n in namespaces] == ["mlplat-dev-team-00"] + [
        f"mlplat-dev-team-00_{i}" for i in range(2, len(namespaces) + 1)
    ]
    assert all(len(n.data.encode()) <= one_file // 2 for n in namespaces)
    assert [g for n in namespaces for g in n.groups] == groups["team-00"]


def test_an_unknown_stack_is_one_error_line_and_exit_2(tmp_path, capsys):
    assert cli.main(["--stack", "qa", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Pulumi.qa.yaml" in err and "Traceback" not in err


def test_a_serving_shards_namespaces_carry_its_shard_and_stay_the_teams():
    groups = rule_groups(fleet(20, teams=2))
    groups.pop("")
    names = [n.name for n in pack("dev", groups, shard=2)]
    assert sorted(names) == ["mlplat-dev-team-00.2", "mlplat-dev-team-01.2"]
    patterns = amp_namespaces.team_namespace_patterns("dev", "team-00")
    assert "mlplat-dev-team-00.2" in {n for n in names for p in patterns if fnmatchcase(n, p)}
    assert not any(fnmatchcase("mlplat-dev-team-01.2", p) for p in patterns)


def readme_severities() -> dict[str, str]:
    """The README's alert table (section "Alerts on EKS models"): alert -> severity, what the
    teams are told each alert means for them."""
    text = (Path(__file__).parents[2] / "README.md").read_text()
    return dict(re.findall(r"^\| `(Model\w+)`[^|\n]*\|[^|\n]*\| (\w+) \|$", text, re.M))


def test_each_alerts_severity_is_the_one_the_readme_tells_the_teams():
    documented = readme_severities()
    assert set(documented) == ALERTS | {GPU_ALERT}
    seen = set()
    for groups in rule_groups(fleet(30, teams=3, gpu_every=3)).values():
        for group in groups:
            for rule in group["rules"]:
                if "alert" in rule:
                    assert rule["labels"]["severity"] == documented[rule["alert"]], rule["alert"]
                    seen.add(rule["alert"])
    assert seen == set(documented)


def test_each_alerts_summary_starts_with_the_model_and_states_its_own_objective():
    held_to = dataclasses.replace(
        PLATFORM_DEFAULTS,
        latency_p99_seconds=0.25,
        latency_for="7m",
        error_ratio=0.05,
        min_requests_per_second=3,
        restarts_in_15m=4,
        hpa_at_max_for="9m",
        no_traffic_for="45m",
        gpu_util_percent=80,
        gpu_memory_ratio=0.9,
        gpu_saturated_for="11m",
    )
    groups = rule_groups(fleet(3, teams=1, gpu_every=1), lambda model: held_to)
    summaries = {
        rule["alert"]: rule["annotations"]["summary"]
        for group in groups["team-00"]
        for rule in group["rules"]
    }
    expected = {
        "ModelLatencyP99OverObjective": ("0.25s", "7m"),
        "ModelErrorRatioOverObjective": ("5.00%", "3 req/s"),
        "ModelPodRestarting": ("more than 4 times",),
        "ModelReplicasAtHpaMaximum": ("9m",),
        "ModelNoTraffic": ("45m",),
        "ModelGpuSaturated": ("80%", "90%", "11m"),
    }
    assert set(summaries) == set(expected)
    for alert, values in expected.items():
        assert summaries[alert].startswith("{{ $labels.model }}: "), alert
        for value in values:
            assert value in summaries[alert], (alert, value)
