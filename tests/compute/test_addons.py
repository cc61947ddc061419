"""Cluster add-ons: pinned Helm releases, and the autoscaler's least-privilege IRSA role."""

from __future__ import annotations

import json
import re

import pytest

from components.cluster_addons import autoscaler_statements

pytestmark = pytest.mark.slow

RELEASE = "kubernetes:helm.sh/v3:Release"
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def releases(plan) -> dict[str, dict]:
    """The cluster add-ons' releases (the monitoring exporters are tested with monitoring)."""
    return {
        r["inputs"]["chart"]: r
        for r in plan.of_type(RELEASE)
        if r["inputs"]["namespace"] == "kube-system"
    }


def test_three_addons_pinned_to_the_configured_versions(plan):
    pinned = plan.spec.settings.cluster.addons
    found = releases(plan)
    expected = {
        "nvidia-device-plugin": pinned.nvidia_device_plugin,
        "cluster-autoscaler": pinned.cluster_autoscaler,
        "metrics-server": pinned.metrics_server,
    }
    assert set(expected) <= set(found)
    # Every release is pinned (the load balancer controller's own pin: test_alb_controller.py).
    for chart, release in found.items():
        assert SEMVER.match(release["inputs"]["version"]), chart
        assert release["inputs"]["version"] == expected.get(chart, release["inputs"]["version"])
        assert release["inputs"]["repositoryOpts"]["repo"].startswith("https://")


def test_device_plugin_tolerates_the_gpu_taint(plan):
    values = releases(plan)["nvidia-device-plugin"]["inputs"]["values"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values[
        "tolerations"
    ]


def test_autoscaler_matches_the_cluster_and_uses_its_role(plan):
    values = releases(plan)["cluster-autoscaler"]["inputs"]["values"]
    assert values["autoDiscovery"]["clusterName"] == f"mlplat-{plan.stack}"
    assert values["image"]["tag"] == f"v{plan.spec.settings.cluster.kubernetes_version}.0"
    role = plan.named("aws:iam/role:Role", f"mlplat-{plan.stack}-addons-autoscaler")
    service_account = values["rbac"]["serviceAccount"]
    assert service_account["annotations"]["eks.amazonaws.com/role-arn"] == role["outputs"]["arn"]
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
    (condition,) = [v for k, v in trust["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert condition == "system:serviceaccount:kube-system:cluster-autoscaler"
    cluster = plan.one("eks:index:Cluster")
    assert trust["Principal"]["Federated"] == cluster["outputs"]["oidcProviderArn"]


def test_autoscaler_may_only_resize_this_clusters_groups(plan):
    policy = plan.named("aws:iam/rolePolicy:RolePolicy", f"mlplat-{plan.stack}-addons-autoscaler")
    statements = json.loads(policy["inputs"]["policy"])["Statement"]
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        mutating = [a for a in actions if not a.split(":")[1].startswith(("Describe", "Get"))]
        if mutating:
            tag = f"aws:ResourceTag/k8s.io/cluster-autoscaler/mlplat-{plan.stack}"
            assert statement["Condition"]["StringEquals"] == {tag: "owned"}, statement
            assert set(mutating) == {
                "autoscaling:SetDesiredCapacity",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
            }


def test_autoscaler_nodegroup_reads_are_scoped_to_the_cluster():
    statements = {
        s.sid: s for s in autoscaler_statements("mlplat-dev", "us-east-1", "123456789012")
    }
    assert statements["ReadNodeGroupTemplates"].resources == (
        "arn:aws:eks:us-east-1:123456789012:nodegroup/mlplat-dev/*/*",
    )


def test_container_insights_runs_with_its_own_role_and_feeds_the_dashboard(plan):
    addon = plan.one("aws:eks/addon:Addon")
    assert addon["inputs"]["addonName"] == "amazon-cloudwatch-observability"
    assert addon["inputs"]["clusterName"] == f"mlplat-{plan.stack}"
    role = plan.named("aws:iam/role:Role", f"mlplat-{plan.stack}-addons-cloudwatch-agent")
    assert addon["inputs"]["serviceAccountRoleArn"] == role["outputs"]["arn"]
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
    (subject,) = [v for k, v in trust["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subject == "system:serviceaccount:amazon-cloudwatch:cloudwatch-agent"
    attachment = plan.named(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        f"mlplat-{plan.stack}-addons-cloudwatch-agent",
    )
    assert attachment["inputs"]["policyArn"].endswith(":policy/CloudWatchAgentServerPolicy")
    if plan.spec.settings.monitoring.grafana:  # Grafana holds the dashboards (staging)
        assert not plan.of_type("aws:cloudwatch/dashboard:Dashboard")
        return
    body = json.loads(plan.one("aws:cloudwatch/dashboard:Dashboard")["inputs"]["dashboardBody"])
    cluster_metrics = [
        metric
        for widget in body["widgets"]
        for metric in widget.get("properties", {}).get("metrics", [])
        if metric[0] == "ContainerInsights"
    ]
    assert cluster_metrics
    assert all(metric[2:4] == ["ClusterName", f"mlplat-{plan.stack}"] for metric in cluster_metrics)


def test_the_cloudwatch_agent_may_write_traces_too(plan):
    xray = plan.named(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        f"mlplat-{plan.stack}-addons-cloudwatch-agent-xray",
    )
    assert xray["inputs"]["policyArn"] == "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
