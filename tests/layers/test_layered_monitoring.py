"""Prometheus (AMP) with layered stacks: each serving shard holds the alert rules and the series
estimate of its own EKS models, in the workspace its platform exports; the platform holds only what
no model change moves (the recording rules, the scrape interval)."""

from __future__ import annotations

import yaml

from infra.declarations.tags import TAG_ACTIVE_SERIES
from infra.layers import is_serving_stack
from lifecycle.monitoring.metrics import estimated_series
from policies.rules.prometheus import alerting_rules, covers
from tests.layers.conftest import resources
from tests.layers.test_team_deployer import ACCOUNT, REGION, allowed
from tests.layers.test_team_deployer import _document as _policy

NAMESPACE = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _of(document: dict, kind: str) -> list[dict]:
    return [r for r in resources(document) if r["type"] == kind]


def test_each_serving_stack_holds_its_own_models_alerts_and_series(layer_exports):
    from infra.loader import load_environment, read_stack_config

    dev = layer_exports("dev")
    by_name = {m.name: m for m in load_environment("dev", read_stack_config("dev")).models}
    watched = 0
    for stack, document in dev.items():
        namespaces = _of(document, NAMESPACE)
        rules = [r for ns in namespaces for r in alerting_rules(ns["inputs"]["data"])]
        served = [
            d["inputs"]["metadata"]["labels"]["mlplat.io/model"]
            for d in _of(document, DEPLOYMENT)
            if "mlplat.io/model" in d["inputs"]["metadata"].get("labels", {})
        ]
        if not is_serving_stack(stack):
            # The platform: no model's alert, no series estimate (a model change moves neither).
            assert served == [] and rules == [], stack
            for r in resources(document):
                assert TAG_ACTIVE_SERIES not in (r["inputs"].get("tags") or {}), r["urn"]
            continue
        for model in served:
            assert any(covers(rule, model) for rule in rules), (stack, model)
            watched += 1
        # Nothing of another stack's models: every alert's matcher names only models served here.
        for rule in rules:
            assert all(not covers(rule, name) for name in by_name if name not in served), rule
        series = [
            int(ns["inputs"]["tags"][TAG_ACTIVE_SERIES])
            for ns in namespaces
            if TAG_ACTIVE_SERIES in (ns["inputs"].get("tags") or {})
        ]
        assert sum(series) == estimated_series([by_name[m] for m in served]), stack
    assert watched, "dev serves no model on EKS: nothing judged"


def test_the_platform_keeps_the_recording_rules(layer_exports):
    platform = layer_exports("dev")["dev.platform"]
    groups = [
        group
        for ns in _of(platform, NAMESPACE)
        for group in yaml.safe_load(ns["inputs"]["data"])["groups"]
    ]
    assert groups and all("record" in rule for g in groups for rule in g["rules"])


def _namespace_arn(name: str) -> str:
    # Service Authorization Reference (AMP): rulegroupsnamespace/${WorkspaceId}/${Namespace}
    return f"arn:aws:aps:{REGION}:{ACCOUNT}:rulegroupsnamespace/ws-0123abcd/{name}"


def test_a_team_deployer_manages_its_own_rule_namespaces_only(layer_exports):
    dev = layer_exports("dev")
    judged = 0
    for stack, document in dev.items():
        for ns in _of(document, NAMESPACE):
            arn = _namespace_arn(ns["inputs"]["name"])
            owner = stack.split(".")[2] if is_serving_stack(stack) else None
            for team in ("fraud", "growth"):
                for action in ("aps:CreateRuleGroupsNamespace", "aps:PutRuleGroupsNamespace"):
                    assert allowed(_policy(team), action, arn, {}) == (owner == team), (arn, team)
            judged += 1
    assert judged
    # Further shards and overflow namespaces are the team's; a same-prefix team's are not.
    policy = _policy("fraud")
    for name, own in (
        ("mlplat-dev-fraud.2", True),
        ("mlplat-dev-fraud_2", True),
        ("mlplat-dev-fraud-ops", False),
        ("mlplat-prod-fraud", False),
        ("mlplat-dev-recording", False),
    ):
        assert allowed(policy, "aps:DeleteRuleGroupsNamespace", _namespace_arn(name), {}) == own
