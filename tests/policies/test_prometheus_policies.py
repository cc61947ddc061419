"""The Prometheus rules, both sides: a compliant workspace, scraper, rules and Deployment pass;
each one-property change fails by name. And the stacks' own graphs pass them."""

from __future__ import annotations

import pytest
import yaml
from policy_cases import DELETE, changed, export, in_stack, resource

from lifecycle.monitoring.amp_namespaces import pack
from lifecycle.monitoring.prometheus_rules import rule_groups
from lifecycle.monitoring.synthetic import eks_model
from mlplat.policy_check import check
from policies.registry import policy_named

RULES = (
    "amp-workspace-kms-key",
    "amp-workspace-logging",
    "amp-scraper-private-subnets",
    "eks-model-latency-and-error-alerts",
    "prometheus-alert-has-owner",
)
KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def workspace():
    return resource(
        "aws:amp/workspace:Workspace",
        "ws",
        {
            "kmsKeyArn": KEY,
            "loggingConfiguration": {
                "logGroupArn": "arn:aws:logs:us-west-2:123456789012:log-group:/aws/vendedlogs/x:*"
            },
        },
    )


def network():
    """A private subnet (NAT route) and a public one (internet gateway route)."""
    private_rt = resource(
        "aws:ec2/routeTable:RouteTable",
        "private-rt",
        {"routes": [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-1"}]},
        outputs={"id": "rtb-private"},
    )
    public_rt = resource(
        "aws:ec2/routeTable:RouteTable",
        "public-rt",
        {"routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}]},
        outputs={"id": "rtb-public"},
    )
    subnets = [
        resource("aws:ec2/subnet:Subnet", name, {}, outputs={"id": name})
        for name in ("subnet-private", "subnet-public")
    ]
    associations = [
        resource(
            "aws:ec2/routeTableAssociation:RouteTableAssociation",
            f"{kind}-assoc",
            {"subnetId": f"subnet-{kind}", "routeTableId": f"rtb-{kind}"},
        )
        for kind in ("private", "public")
    ]
    return [private_rt, public_rt, *subnets, *associations]


def scraper(subnets=("subnet-private",)):
    return resource(
        "aws:amp/scraper:Scraper",
        "scraper",
        {"source": {"eks": {"clusterArn": "arn:aws:eks:x", "subnetIds": list(subnets)}}},
    )


def namespaces(*models):
    return [
        resource(
            "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
            ns.name,
            {"name": ns.name, "workspaceId": "ws-1", "data": ns.data},
        )
        for ns in pack("prod", rule_groups(models))
    ]


def deployment(model: str, team: str = "growth"):
    return resource(
        "kubernetes:apps/v1:Deployment",
        f"{model}-deployment",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": model, "namespace": team, "labels": {"mlplat.io/model": model}},
        },
    )


def compliant():
    return [
        workspace(),
        *network(),
        scraper(),
        *namespaces(eks_model("ranker")),
        deployment("ranker"),
    ]


def violations(entries, stack="prod"):
    return check(export(*entries, stack=stack), policies=[policy_named(r) for r in RULES])


def names(found) -> set[str]:
    return {v.policy for v in found}


def test_a_compliant_monitoring_stack_passes():
    assert violations(compliant()) == []


@pytest.mark.parametrize(
    ("rule", "path", "value"),
    [
        ("amp-workspace-kms-key", "kmsKeyArn", DELETE),
        ("amp-workspace-logging", "loggingConfiguration", DELETE),
    ],
)
def test_workspace_rules(rule, path, value):
    entries = compliant()
    entries[0] = changed(entries[0], path, value)
    assert names(violations(entries)) == {rule}


def test_a_scraper_in_a_public_subnet_or_an_unknown_one_fails():
    for subnets in (("subnet-public",), ("subnet-elsewhere",), ()):
        entries = [e for e in compliant() if e["type"] != "aws:amp/scraper:Scraper"]
        found = violations([*entries, scraper(subnets)])
        assert names(found) == {"amp-scraper-private-subnets"}, subnets


def test_a_model_without_rules_fails_and_names_both_alerts():
    found = violations([*compliant(), deployment("unwatched")])
    assert names(found) == {"eks-model-latency-and-error-alerts"}
    messages = " ".join(v.message for v in found)
    assert "unwatched: no latency alert" in messages and "unwatched: no error alert" in messages


def test_a_model_covered_only_by_a_latency_alert_misses_its_error_alert():
    (ns,) = [
        e for e in compliant() if e["type"].endswith("RuleGroupNamespace") and "growth" in e["urn"]
    ]
    data = yaml.safe_load(ns["inputs"]["data"])
    for group in data["groups"]:
        group["rules"] = [
            r for r in group["rules"] if r.get("alert") != "ModelErrorRatioOverObjective"
        ]
    entries = [e for e in compliant() if e is not ns] + [changed(ns, "data", yaml.safe_dump(data))]
    found = violations(entries)
    assert [v.message for v in found if v.policy == "eks-model-latency-and-error-alerts"] == [
        "model ranker: no error alert in an AMP rule namespace"
    ]


def test_a_regex_matcher_covers_only_the_names_it_matches():
    # "rank" is a prefix of "ranker": an anchored matcher does not cover it.
    found = violations([*compliant(), deployment("rank")])
    assert names(found) == {"eks-model-latency-and-error-alerts"}


def test_a_serving_stack_is_judged_on_its_own_rule_namespaces():
    # Layered, a shard's models' rules live in the shard's stack (components.monitoring's
    # TeamRuleNamespaces): a Deployment there without them is unwatched, with them passes.
    stack = "prod.serving.growth"
    alone = [in_stack(deployment("ranker"), stack)]
    assert names(violations(alone, stack=stack)) == {"eks-model-latency-and-error-alerts"}
    covered = [in_stack(e, stack) for e in [*namespaces(eks_model("ranker")), deployment("ranker")]]
    assert violations(covered, stack=stack) == []


def test_an_alert_without_a_team_fails():
    (ns,) = [
        e for e in compliant() if e["type"].endswith("RuleGroupNamespace") and "growth" in e["urn"]
    ]
    data = yaml.safe_load(ns["inputs"]["data"])
    del data["groups"][0]["rules"][0]["labels"]["team"]
    entries = [e for e in compliant() if e is not ns] + [changed(ns, "data", yaml.safe_dump(data))]
    assert names(violations(entries)) == {"prometheus-alert-has-owner"}
