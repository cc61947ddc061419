"""AMP's workspace quotas (lifecycle.monitoring.amp_namespaces), each on both sides of its
limit, and what the generator reaches at 1,000 models."""

from __future__ import annotations

import pytest
import yaml

from components.monitoring import rule_namespaces
from infra.declarations import SpecError
from lifecycle.monitoring import amp_namespaces
from lifecycle.monitoring.amp_namespaces import (
    ACTIVE_SERIES_PER_WORKSPACE,
    INGESTION_SAMPLES_PER_SECOND,
    NAMESPACE_AND_GROUP_NAME_MAX_BYTES,
    NAMESPACE_DATA_MAX_BYTES,
    NAMESPACE_NAME_MAX,
    RULES_PER_WORKSPACE,
    RuleNamespace,
    pack,
    quota_problems,
    series_problems,
)
from lifecycle.monitoring.metrics import estimated_series, series_per_model
from lifecycle.monitoring.prometheus_rules import rule_groups
from lifecycle.monitoring.synthetic import fleet


def recording_rules(count: int) -> list[dict]:
    return [{"record": f"r{i}", "expr": "1"} for i in range(count)]


@pytest.mark.parametrize("over", [0, 1])
def test_rules_per_workspace_counted_over_every_namespace(over):
    half = RULES_PER_WORKSPACE // 2
    namespaces = [
        RuleNamespace("a", ({"name": "g", "rules": recording_rules(half)},)),
        RuleNamespace("b", ({"name": "g", "rules": recording_rules(half + over)},)),
    ]
    expected = [f"{RULES_PER_WORKSPACE + 1} rules; an AMP workspace holds 2000"] if over else []
    assert quota_problems(namespaces) == expected


def namespace_of_size(size: int) -> RuleNamespace:
    """One namespace whose rules file is ``size`` bytes (the padding is an expression)."""
    base = RuleNamespace("n", ({"name": "g", "rules": [{"record": "r", "expr": "x"}]},))
    padding = "x" * (size - len(base.data.encode()) + 1)
    namespace = RuleNamespace("n", ({"name": "g", "rules": [{"record": "r", "expr": padding}]},))
    assert len(namespace.data.encode()) == size
    return namespace


@pytest.mark.parametrize("over", [0, 1])
def test_rules_file_size(over):
    problems = quota_problems([namespace_of_size(NAMESPACE_DATA_MAX_BYTES + over)])
    assert problems == (
        [f"namespace 'n': rules file of {NAMESPACE_DATA_MAX_BYTES + 1} bytes"] if over else []
    )


@pytest.mark.parametrize("over", [0, 1])
def test_namespace_name_length(over):
    name = "n" * (NAMESPACE_NAME_MAX + over)
    problems = quota_problems([RuleNamespace(name, ({"name": "g", "rules": []},))])
    assert bool(problems) is bool(over), problems


@pytest.mark.parametrize("over", [0, 1])
def test_namespace_and_group_name_bytes(over):
    group = "g" * (NAMESPACE_AND_GROUP_NAME_MAX_BYTES - 1 + over)
    problems = quota_problems([RuleNamespace("n", ({"name": group, "rules": []},))])
    assert problems == ([f"namespace 'n': group {group!r} name"] if over else [])


@pytest.mark.parametrize("over", [0, 1])
def test_active_series(over):
    # 300 s: the slowest scrape, so the ingestion rate stays far from its own limit.
    problems = series_problems(ACTIVE_SERIES_PER_WORKSPACE + over, 300)
    assert problems == (
        [
            f"{ACTIVE_SERIES_PER_WORKSPACE + 1} active series at maximum replicas; an AMP "
            f"workspace holds {ACTIVE_SERIES_PER_WORKSPACE}"
        ]
        if over
        else []
    )


@pytest.mark.parametrize("over", [0, 1])
def test_ingestion_rate_rounds_up_a_partial_sample(over):
    interval = 30
    problems = series_problems(INGESTION_SAMPLES_PER_SECOND * interval + over, interval)
    assert problems == (
        [
            f"{INGESTION_SAMPLES_PER_SECOND + 1} samples/s at maximum replicas every 30 s; an "
            f"AMP workspace ingests {INGESTION_SAMPLES_PER_SECOND}"
        ]
        if over
        else []
    )


def test_a_thousand_models_at_maximum_replicas_are_far_within_the_series_quotas():
    """87,200 series at 1,000 models (benchmarks/README.md): even scraped every 10 s (the
    fastest the settings allow) that is 8,720 samples/s against 140,000; the generator needs
    about 114,000 such models to reach 10 million series."""
    peak = estimated_series(fleet(1000), replicas="max")
    assert peak == 87_200
    assert series_problems(peak, 10) == []


def test_the_program_refuses_models_whose_series_pass_the_quota(monkeypatch):
    models = fleet(10)
    peak = estimated_series(models, replicas="max")
    assert rule_namespaces("dev", models, 30)
    monkeypatch.setattr(amp_namespaces, "ACTIVE_SERIES_PER_WORKSPACE", peak - 1)
    with pytest.raises(SpecError) as error:
        rule_namespaces("dev", models, 30)
    assert "stacks/dev.py" in str(error.value)
    assert f"AMP quota: {peak} active series at maximum replicas" in str(error.value)


def test_the_steady_series_are_counted_at_each_models_minimum_replicas():
    """What AMP bills ingestion on: the replicas that run steadily, not the peak."""
    models = fleet(10)
    assert all(m.scaling.min_instances < m.scaling.max_instances for m in models)
    steady = sum(series_per_model(m.resources.gpus, m.scaling.min_instances) for m in models)
    assert estimated_series(models) == estimated_series(models, replicas="min") == steady
    assert estimated_series(models) < estimated_series(models, replicas="max")


@pytest.mark.parametrize("over", [0, 1])
def test_a_namespace_name_over_amps_length_is_named_in_the_problem(over):
    name = "n" * (NAMESPACE_NAME_MAX + over)
    problems = quota_problems([RuleNamespace(name, ({"name": "g", "rules": []},))])
    assert problems == (
        [f"namespace {name!r}: name over {NAMESPACE_NAME_MAX} chars"] if over else []
    )


def test_a_teams_groups_share_one_namespace_while_its_file_fits():
    groups = rule_groups(fleet(400, teams=1))
    assert len(groups["team-00"]) >= 2
    assert [n.name for n in pack("dev", groups) if n.name != "mlplat-dev-recording"] == [
        "mlplat-dev-team-00"
    ]


@pytest.mark.parametrize("over", [0, 1])
def test_a_rules_file_exactly_at_the_limit_stays_one_namespace(monkeypatch, over):
    groups = rule_groups(fleet(400, teams=1))["team-00"]
    size = len(amp_namespaces.rules_file(groups).encode())
    monkeypatch.setattr(amp_namespaces, "NAMESPACE_DATA_MAX_BYTES", size - over)
    namespaces = pack("dev", {"team-00": groups})
    assert len(namespaces) == 1 + over
    assert [g for n in namespaces for g in n.groups] == groups


def test_the_platforms_recording_namespace_is_never_a_shards():
    groups = rule_groups(fleet(4, teams=1))
    names = {n.name for n in pack("dev", groups, shard=2)}
    assert names == {"mlplat-dev-recording", "mlplat-dev-team-00.2"}


def test_each_rule_expression_stays_on_one_line_of_the_rules_file():
    """The file is sized byte by byte against AMP's limit and read back by Prometheus: an
    expression folded over lines would add bytes (and read the same), so none is folded."""
    (group,) = rule_groups(fleet(200, teams=1))["team-00"]
    text = amp_namespaces.group_text(group)
    expressions = [line for line in text.splitlines() if line.lstrip().startswith("expr:")]
    assert len(expressions) == len(group["rules"])
    assert max(len(rule["expr"]) for rule in group["rules"]) > 1000
    for line, rule in zip(expressions, group["rules"], strict=True):
        assert yaml.safe_load(line.strip())["expr"] == rule["expr"]
