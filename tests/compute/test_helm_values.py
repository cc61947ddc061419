"""Every Helm release's values are values its chart reads, at the pinned chart version
(components.helm_charts): the recorded value trees are the pinned versions', the rule catches a
misspelt or misplaced key, and every stack's rendered values pass it."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from components.alb_controller import CHART_VERSION as ALB_CHART_VERSION
from components.alb_controller import CONTROLLER_VERSION
from components.helm_charts import chart_values, kind_tree, manifest, value_problems
from infra.declarations.environment import AddonSettings

RELEASE = "kubernetes:helm.sh/v3:Release"


def pinned_versions() -> dict[str, str]:
    """chart -> version, as the code pins them (an add-on field is its chart's name)."""
    addons = {field.replace("_", "-"): version for field, version in AddonSettings()}
    return {**addons, "aws-load-balancer-controller": ALB_CHART_VERSION}


def test_every_chart_has_its_value_tree_and_source():
    for chart, entry in manifest().items():
        assert isinstance(chart_values(chart).defaults, dict), chart
        source = entry["source"]
        assert len(source["commit"]) == 40 and len(source["valuesSha256"]) == 64, chart
        # Helm applies a shipped values.schema.json to the merged values: a chart pinned with
        # one needs that check added first (none of the pinned versions ships one).
        assert entry["valuesSchema"] is None, chart


def test_recorded_versions_are_the_pinned_ones():
    """Bumping a chart without rebuilding its value tree fails here."""
    assert {chart: entry["version"] for chart, entry in manifest().items()} == pinned_versions()
    # The controller's IAM policy is its release's (alb_controller): the same release's chart.
    assert manifest()["aws-load-balancer-controller"]["appVersion"] == CONTROLLER_VERSION


def test_a_version_other_than_the_recorded_one_is_refused():
    chart = chart_values("metrics-server")
    assert value_problems(chart, "3.12.3", {}) == [
        "metrics-server 3.12.3: values known for 3.12.2 only; rebuild its tree"
    ]


DEMO = """
image: {repository: demo, tag: v1}
replicas: 1
enabled: true
nodeSelector: {}
tolerations: []
clusterName:
extraArgs: {v: 4}
"""


def write_chart(folder, **entry) -> None:
    (folder / "demo.json").write_text(json.dumps(kind_tree(yaml.safe_load(DEMO))))
    charts = {"demo": {"version": "1.0.0", **entry}}
    (folder / "sources.json").write_text(json.dumps({"charts": charts}))


def test_the_tree_keeps_keys_and_kinds():
    assert kind_tree(yaml.safe_load(DEMO)) == {
        "image": {"repository": "string", "tag": "string"},
        "replicas": "number",
        "enabled": "boolean",
        "nodeSelector": {},
        "tolerations": "list",
        "clusterName": None,
        "extraArgs": {"v": "number"},
    }


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"image": {"tag": "v2"}, "nodeSelector": {"a": "b"}}, None),
        ({"tolerations": [{"operator": "Exists"}], "clusterName": {"any": ["shape"]}}, None),
        ({"image": None, "replicas": None}, None),  # null: Helm removes the default
        ({"imag": {"tag": "v2"}}, "demo 1.0.0: imag: not a value of the chart"),
        ({"image": {"tags": "v2"}}, "demo 1.0.0: image.tags: not a value of the chart"),
        ({"image": {"tag": {"name": "v2"}}}, "image.tag: the chart's default is a string"),
        ({"replicas": "2"}, "replicas: the chart's default is a number, ours is a string"),
        ({"enabled": 1}, "enabled: the chart's default is a boolean, ours is a number"),
        ({"image": "demo:v2"}, "image: the chart's default is a map, ours is a string"),
        ({"tolerations": {"key": "x"}}, "tolerations: the chart's default is a list"),
        ({"nodeSelector": ["x"]}, "nodeSelector: the chart's default is a map"),
        ({"extraArgs": {"expander": "least-waste"}}, "extraArgs.expander: not a value"),
    ],
)
def test_the_rule_on_each_kind_of_default(tmp_path, values, problem):
    write_chart(tmp_path)
    problems = value_problems(chart_values("demo", tmp_path), "1.0.0", values)
    assert problems == [] if problem is None else any(problem in p for p in problems), problems


def test_a_listed_free_form_map_takes_any_key(tmp_path):
    write_chart(tmp_path, freeForm={"extraArgs": "each key a flag"})
    chart = chart_values("demo", tmp_path)
    assert value_problems(chart, "1.0.0", {"extraArgs": {"expander": "least-waste"}}) == []
    assert value_problems(chart, "1.0.0", {"extraArgs": "--expander=least-waste"})


def test_a_value_a_template_reads_without_default_is_listed_by_name(tmp_path):
    write_chart(tmp_path, readByTemplates={"fullnameOverride": "templates/_helpers.tpl"})
    chart = chart_values("demo", tmp_path)
    assert value_problems(chart, "1.0.0", {"fullnameOverride": "x"}) == []
    assert value_problems(chart, "1.0.0", {"nameOverride": "x"}) == [
        "demo 1.0.0: nameOverride: not a value of the chart"
    ]


def releases(plan) -> list[dict]:
    return [r["inputs"] for r in plan.of_type(RELEASE)]


@pytest.mark.slow
def test_every_release_sets_only_values_its_pinned_chart_reads(plan):
    charts = manifest()
    assert releases(plan)
    for release in releases(plan):
        entry = charts.get(release["chart"])
        assert entry, (
            f"{release['chart']} is installed but has no value tree in components/helm_charts"
        )
        assert release["repositoryOpts"]["repo"] == entry["helmRepository"]
        chart = chart_values(release["chart"])
        assert value_problems(chart, release["version"], release["values"]) == []


@pytest.mark.slow
def test_the_autoscaler_chart_is_the_one_of_the_clusters_minor(plan):
    """Each autoscaler minor goes with one Kubernetes minor, and its chart's ClusterRole grants
    what that minor reads (1.35 watches DRA objects always; the 1.32 chart's role could not)."""
    minor = plan.spec.settings.cluster.kubernetes_version
    (release,) = [r for r in releases(plan) if r["chart"] == "cluster-autoscaler"]
    app = manifest()["cluster-autoscaler"]["appVersion"]
    assert app.startswith(f"{minor}."), (app, minor)
    assert release["values"]["image"]["tag"].startswith(f"v{minor}.")


def misspell(values: dict, defaults: dict) -> tuple[dict, str]:
    """A copy of ``values`` with one key misspelt, as deep as the chart fixes keys, and its path."""
    nested = [
        key
        for key, value in values.items()
        if isinstance(value, dict) and value and isinstance(defaults.get(key), dict)
        if defaults[key]
    ]
    path = nested[:1]
    broken = copy.deepcopy(values)
    parent = broken
    for key in path:
        parent = parent[key]
    key = next(iter(parent))
    wrong = key.lower() if key.lower() != key else f"{key}s"
    parent[wrong] = parent.pop(key)
    return broken, ".".join([*path, wrong])


@pytest.mark.slow
def test_a_misspelt_key_in_any_release_is_caught(plan):
    for release in releases(plan):
        chart = chart_values(release["chart"])
        broken, path = misspell(release["values"], dict(chart.defaults))
        problems = value_problems(chart, release["version"], broken)
        assert any(f": {path}: not a value of the chart" in p for p in problems), (path, problems)
