"""The dashboard body (valid CloudWatch JSON, every endpoint with AWS's dimensions) and the
per-endpoint alarms, as exported."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from components.cloudwatch_metrics import (
    CLUSTER_METRICS,
    ENDPOINT_METRICS,
    INSTANCES,
    INVOCATIONS,
    UNIT_LABELS,
    documented_metric,
)
from components.observability import MonitoredEndpoint, dashboard
from infra.loader import load_environment, read_stack_config
from tests.data.conftest import STACKS, resources


def _grafana(stack: str) -> bool:
    return load_environment(stack, read_stack_config(stack)).settings.monitoring.grafana


# The stacks that keep the CloudWatch dashboard (the others show theirs in Grafana).
CLOUDWATCH_DASHBOARD_STACKS = [stack for stack in STACKS if not _grafana(stack)]

SCHEMA = json.loads((Path(__file__).parent / "cloudwatch_dashboard.schema.json").read_text())

PER_ENDPOINT = {
    ("AWS/SageMaker", "Invocations"): {"Sum"},
    ("AWS/SageMaker", "Invocation4XXErrors"): {"Sum"},
    ("AWS/SageMaker", "Invocation5XXErrors"): {"Sum"},
    ("AWS/SageMaker", "ModelLatency"): {"p50", "p99"},
    ("AWS/SageMaker", "OverheadLatency"): {"Average", "Maximum"},
    ("/aws/sagemaker/Endpoints", "LoadedModelCount"): {"Maximum"},
    ("AWS/SageMaker", "ModelCacheHit"): {"Average"},
    ("AWS/SageMaker", "ModelLoadingWaitTime"): {"Average"},
    ("AWS/SageMaker", "ModelUnloadingTime"): {"Average"},
    ("AWS/SageMaker", "InvocationsPerInstance"): {"Sum"},
    ("/aws/sagemaker/Endpoints", "CPUUtilization"): {"Average"},
    ("/aws/sagemaker/Endpoints", "MemoryUtilization"): {"Average"},
    ("/aws/sagemaker/Endpoints", "GPUUtilization"): {"Average"},
}


def metric_rows(body: dict):
    """(namespace, name, dimensions, options) of every metric row of every metric widget."""
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        for row in widget["properties"]["metrics"]:
            if isinstance(row[0], dict):
                continue  # an expression
            options = row[-1] if isinstance(row[-1], dict) else {}
            strings = row[:-1] if options else row
            namespace, name, *pairs = strings
            assert len(pairs) % 2 == 0, f"dimension names and values must pair up: {row}"
            yield namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True)), options


def _endpoints(export: dict) -> dict[str, str]:
    """Each SageMaker endpoint of the export, with its variant (read from its configuration)."""
    configs = {
        c["outputs"]["name"]: c["inputs"]
        for c in resources(export, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    }
    endpoints = {}
    for endpoint in resources(export, "aws:sagemaker/endpoint:Endpoint"):
        (variant,) = configs[endpoint["inputs"]["endpointConfigName"]]["productionVariants"]
        endpoints[endpoint["inputs"]["name"]] = variant["variantName"]
    return endpoints


def _body(export: dict) -> dict:
    (dashboard_resource,) = resources(export, "aws:cloudwatch/dashboard:Dashboard")
    return json.loads(dashboard_resource["inputs"]["dashboardBody"])


@pytest.mark.parametrize("stack", CLOUDWATCH_DASHBOARD_STACKS)
def test_the_dashboard_body_is_valid_cloudwatch_json(exports, stack):
    jsonschema.validate(_body(exports[stack]), SCHEMA)


def test_the_schema_rejects_what_cloudwatch_rejects():
    bad_bodies = [
        {
            "widgets": [
                {
                    "type": "metric",
                    "x": 0,
                    "y": 0,
                    "width": 25,
                    "height": 6,
                    "properties": {
                        "region": "us-east-1",
                        "metrics": [["AWS/SageMaker", "Invocations"]],
                    },
                }
            ]
        },
        {
            "widgets": [
                {
                    "type": "metric",
                    "properties": {"region": "us-east-1", "metrics": [["AWS/SageMaker"]]},
                }
            ]
        },
        {
            "widgets": [
                {
                    "type": "metric",
                    "properties": {
                        "region": "us-east-1",
                        "stat": "Mean",
                        "metrics": [["AWS/SageMaker", "Invocations"]],
                    },
                }
            ]
        },
        {"widgets": [{"type": "text", "properties": {}}]},
    ]
    for body in bad_bodies:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(body, SCHEMA)


@pytest.mark.parametrize("stack", CLOUDWATCH_DASHBOARD_STACKS)
def test_the_dashboard_shows_every_endpoint_with_the_dimensions_aws_publishes(exports, stack):
    export = exports[stack]
    endpoints = _endpoints(export)
    assert endpoints, "every stack serves models on SageMaker"
    body = _body(export)
    default_provider = next(
        p for p in resources(export, "pulumi:providers:aws") if "::default" in p["urn"]
    )
    regions = {w["properties"]["region"] for w in body["widgets"] if w["type"] == "metric"}
    assert regions == {default_provider["inputs"]["region"]}
    seen: dict[str, dict[tuple[str, str], set[str]]] = {}
    for namespace, name, dimensions, options in metric_rows(body):
        if namespace == "ContainerInsights":
            continue
        assert set(dimensions) == {"EndpointName", "VariantName"}, (namespace, name, dimensions)
        assert dimensions["EndpointName"] in endpoints, (
            f"{dimensions['EndpointName']} is not an endpoint"
        )
        assert dimensions["VariantName"] == endpoints[dimensions["EndpointName"]]
        seen.setdefault(dimensions["EndpointName"], {}).setdefault((namespace, name), set()).add(
            options.get("stat")
        )
    assert set(seen) == set(endpoints)
    for endpoint, metrics in seen.items():
        assert metrics == PER_ENDPOINT, endpoint


def test_cluster_metrics_appear_when_container_insights_is_on():
    endpoint = MonitoredEndpoint("mlplat-dev-fraud-x-0", "primary", "fraud", 1, 2)
    body = json.loads(dashboard([endpoint], "us-east-1", "mlplat-dev").to_json())
    jsonschema.validate(body, SCHEMA)
    cluster = [
        (ns, name, dims) for ns, name, dims, _ in metric_rows(body) if ns == "ContainerInsights"
    ]
    assert cluster and all(dims == {"ClusterName": "mlplat-dev"} for _, _, dims in cluster)
    without = json.loads(dashboard([endpoint], "us-east-1", None).to_json())
    assert not [row for row in metric_rows(without) if row[0] == "ContainerInsights"]


def test_widgets_never_overlap():
    endpoints = [MonitoredEndpoint(f"mlplat-dev-t-{i}", "primary", "t", 1, 2) for i in range(3)]
    widgets = json.loads(dashboard(endpoints, "us-east-1", "c").to_json())["widgets"]
    cells = set()
    for w in widgets:
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells
                cells.add((x, y))
        assert w["x"] + w["width"] <= 24


@pytest.mark.parametrize("stack", STACKS)
def test_every_endpoint_has_its_alarms_acting_on_its_teams_topic(exports, stack):
    export = exports[stack]
    topics = {
        t["inputs"]["name"]: t["outputs"]["arn"] for t in resources(export, "aws:sns/topic:Topic")
    }
    team_of = {
        e["inputs"]["name"]: e["inputs"]["tags"]["mlplat:team"]
        for e in resources(export, "aws:sagemaker/endpoint:Endpoint")
    }
    alarms = {
        a["inputs"]["name"]: a["inputs"]
        for a in resources(export, "aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    maximum = {
        t["inputs"]["resourceId"].split("/")[1]: t["inputs"]["maxCapacity"]
        for t in resources(export, "aws:appautoscaling/target:Target")
        if t["inputs"]["resourceId"].startswith("endpoint/")
    }
    for endpoint, variant in _endpoints(export).items():
        # The owning team's topic, never the environment's shared one.
        alerts_topic = topics[f"mlplat-{stack}-{team_of[endpoint]}-alerts"]
        dims = {"EndpointName": endpoint, "VariantName": variant}
        rate = alarms[f"{endpoint}-5xx-rate"]
        queries = {q["id"]: q for q in rate["metricQueries"]}
        assert queries["errors"]["metric"]["metricName"] == "Invocation5XXErrors"
        assert queries["invocations"]["metric"]["metricName"] == "Invocations"
        assert all(queries[i]["metric"]["dimensions"] == dims for i in ("errors", "invocations"))
        assert [q["id"] for q in rate["metricQueries"] if q.get("returnData")] == ["rate"]
        latency = alarms[f"{endpoint}-p99-latency"]
        assert (latency["metricName"], latency["extendedStatistic"], latency["dimensions"]) == (
            "ModelLatency",
            "p99",
            dims,
        )
        cache = alarms[f"{endpoint}-cache-hit-ratio"]
        assert (cache["metricName"], cache["comparisonOperator"], cache["dimensions"]) == (
            "ModelCacheHit",
            "LessThanThreshold",
            dims,
        )
        # Each fires on crossing out of the healthy side, in the metric's own unit: the rate is a
        # percentage, ModelLatency is in microseconds (one second by default), and ModelCacheHit's
        # Average is a ratio between 0 and 1 (AWS: "the Average statistic is the ratio").
        assert rate["comparisonOperator"] == "GreaterThanThreshold"
        assert 0 < rate["threshold"] < 100
        assert "100 * errors / invocations" in queries["rate"]["expression"]
        assert latency["comparisonOperator"] == "GreaterThanThreshold"
        assert latency["threshold"] == 1_000_000
        assert 0 < cache["threshold"] < 1 and cache["statistic"] == "Average"
        # Requests waiting for their model to load, and the instance count at its maximum.
        wait = alarms[f"{endpoint}-model-loading-wait"]
        assert (wait["metricName"], wait["statistic"], wait["dimensions"]) == (
            "ModelLoadingWaitTime",
            "Average",
            dims,
        )
        assert wait["comparisonOperator"] == "GreaterThanThreshold" and wait["threshold"] > 0
        at_max = alarms[f"{endpoint}-instances-at-max"]
        count = {q["id"]: q for q in at_max["metricQueries"]}
        assert count["per_instance"]["metric"]["metricName"] == "InvocationsPerInstance"
        assert "invocations / per_instance" in count["instances"]["expression"]
        assert at_max["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert at_max["threshold"] == maximum[endpoint]
        for alarm in (rate, latency, cache, wait, at_max):
            assert alarm["alarmActions"] == [alerts_topic]
            assert alarm["okActions"] == [alerts_topic]
            assert alarm["treatMissingData"] == "notBreaching"  # no traffic is no outage


def test_the_metric_table_records_what_aws_documents():
    """Facts from AWS's CloudWatch pages; the first ones are what the first dashboard got wrong."""
    assert ENDPOINT_METRICS["LoadedModelCount"].namespace == INSTANCES
    for name in ("ModelLoadingWaitTime", "ModelUnloadingTime", "ModelLatency", "OverheadLatency"):
        assert ENDPOINT_METRICS[name].unit == "Microseconds", name
    assert ENDPOINT_METRICS["ModelCacheHit"].namespace == INVOCATIONS
    assert ENDPOINT_METRICS["ModelLatency"].allows("p99")
    assert not ENDPOINT_METRICS["OverheadLatency"].allows("p99")
    assert not ENDPOINT_METRICS["Invocations"].allows("Average")
    assert {spec.namespace for spec in CLUSTER_METRICS.values()} == {"ContainerInsights"}
    assert {spec.dimensions for spec in CLUSTER_METRICS.values()} == {("ClusterName",)}


def test_an_undocumented_metric_or_statistic_is_refused():
    with pytest.raises(ValueError, match="not a documented"):
        documented_metric("ModelLoadedCount", "Sum")
    with pytest.raises(ValueError, match="not valid"):
        documented_metric("InvocationsPerInstance", "Average")


def _check_documented(namespace: str, name: str, dimensions, stat: str | None) -> None:
    spec = ENDPOINT_METRICS.get(name) or CLUSTER_METRICS.get(name)
    assert spec is not None, f"{namespace} {name} is not in AWS's metric tables"
    assert namespace == spec.namespace, f"{name} is published in {spec.namespace}, not {namespace}"
    assert set(dimensions) == set(spec.dimensions), (name, dimensions)
    assert stat and spec.allows(stat), f"{name}: {stat} is not a documented statistic"


@pytest.mark.parametrize("stack", CLOUDWATCH_DASHBOARD_STACKS)
def test_every_dashboard_metric_and_unit_label_matches_aws_table(exports, stack):
    body = _body(exports[stack])
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        units = set()
        for namespace, name, dimensions, options in metric_rows({"widgets": [widget]}):
            stat = options.get("stat", widget["properties"].get("stat"))
            _check_documented(namespace, name, dimensions, stat)
            units.add((ENDPOINT_METRICS.get(name) or CLUSTER_METRICS[name]).unit)
        title = widget["properties"]["title"]
        labels = {UNIT_LABELS[u] for u in units if u in UNIT_LABELS}
        named = title[title.rindex("(") + 1 : -1] if title.endswith(")") else None
        assert len(labels) <= 1, f"{title!r} mixes units {units}"
        assert named == (labels.pop() if labels else None), (
            f"{title!r} must name the unit of its metrics: {units}"
        )


@pytest.mark.parametrize("stack", STACKS)
def test_every_alarm_on_an_endpoint_metric_matches_aws_table(exports, stack):
    checked = 0
    for alarm in resources(exports[stack], "aws:cloudwatch/metricAlarm:MetricAlarm"):
        inputs = alarm["inputs"]
        metrics = [
            (m["namespace"], m["metricName"], m.get("dimensions") or {}, m.get("stat"))
            for q in inputs.get("metricQueries") or []
            if (m := q.get("metric"))
        ]
        if inputs.get("metricName"):
            stat = inputs.get("statistic") or inputs.get("extendedStatistic")
            metrics.append(
                (inputs["namespace"], inputs["metricName"], inputs.get("dimensions") or {}, stat)
            )
        for namespace, name, dimensions, stat in metrics:
            if namespace in (INVOCATIONS, INSTANCES) or name in ENDPOINT_METRICS:
                _check_documented(namespace, name, dimensions, stat)
                checked += 1
    assert checked, "every stack alarms on its endpoints"


@pytest.mark.parametrize("stack", STACKS)
def test_the_dashboard_switch_keeps_cloudwatch_only_without_grafana(exports, stack):
    cloudwatch = resources(exports[stack], "aws:cloudwatch/dashboard:Dashboard")
    grafana = resources(exports[stack], "aws:grafana/workspace:Workspace")
    assert (len(cloudwatch), len(grafana)) == ((0, 1) if _grafana(stack) else (1, 0))


def test_both_kinds_of_stack_are_examples():
    assert CLOUDWATCH_DASHBOARD_STACKS and len(CLOUDWATCH_DASHBOARD_STACKS) < len(STACKS)
