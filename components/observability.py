"""One CloudWatch dashboard per environment, and alarms for every SageMaker endpoint.

For each endpoint (dimensions ``EndpointName`` + ``VariantName``, as SageMaker publishes them;
namespaces, units and statistics come from ``components.cloudwatch_metrics``, AWS's table):

- invocations and 4XX/5XX errors; ModelLatency (p50, p99) and OverheadLatency (average, max),
  in microseconds;
- the multi-model metrics: LoadedModelCount (an instance metric, highest per instance),
  ModelCacheHit (its Average is the hit ratio), ModelLoadingWaitTime and ModelUnloadingTime
  (microseconds);
- CPU, memory and GPU utilisation of the instances (percent, summed over cores/GPUs);
- instances: CloudWatch has no instance-count metric for endpoints. The current count is
  ``Invocations / InvocationsPerInstance`` (SageMaker counts 1/instances per request in the latter),
  drawn against the autoscaler's bounds (min/max), between which it sets the desired count.

With a cluster name, Container Insights' cluster metrics (``ContainerInsights``, ``ClusterName``).

Alarms per endpoint, acting on the owning team's topic: 5XX rate (metric math, percent of
invocations), p99 ModelLatency, the cache hit ratio falling (the cache-miss rate rising: models
evicted and reloaded too often), requests waiting for a model to load (ModelLoadingWaitTime), and
the instance count at the scaling maximum (``Invocations / InvocationsPerInstance``, as drawn on
the dashboard) for the evaluation periods: the endpoint cannot scale out further.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.cloudwatch_metrics import UNIT_LABELS, documented, documented_metric
from components.dashboard_body import (
    Dashboard,
    Expression,
    HorizontalAnnotation,
    Metric,
    MetricWidget,
    TextWidget,
)
from infra.declarations.tags import Ownership


@dataclass(frozen=True)
class MonitoredEndpoint:
    name: str
    variant: str
    team: str
    min_instances: int
    max_instances: int

    @property
    def dimensions(self) -> tuple[tuple[str, str], ...]:
        return (("EndpointName", self.name), ("VariantName", self.variant))

    def metric(self, name: str, stat: str, **options) -> Metric:
        """The documented metric ``name`` of this endpoint, in the namespace AWS publishes it."""
        namespace = documented_metric(name, stat).namespace
        return Metric(namespace, name, self.dimensions, stat=stat, **options)


def unit_label(*metric_names: str) -> str:
    """The unit the named metrics share, as a widget title names it (AWS's table decides)."""
    (unit,) = {documented(name).unit for name in metric_names}
    return UNIT_LABELS[unit]


@dataclass(frozen=True)
class AlarmThresholds:
    """Defaults: 1% of invocations failing with 5XX, p99 model latency over one second, a
    cache hit ratio under 80% (models evicted and reloaded), requests waiting five seconds on
    average for their model to load, each over three 5-minute periods; instances at the
    scaling maximum for as long."""

    error_rate_percent: float = 1.0
    p99_model_latency_us: float = 1_000_000
    min_cache_hit_ratio: float = 0.8
    max_loading_wait_us: float = 5_000_000
    period_seconds: int = 300
    evaluation_periods: int = 3


UTILISATION = ("CPUUtilization", "MemoryUtilization", "GPUUtilization")
MODEL_LOADING = ("ModelLoadingWaitTime", "ModelUnloadingTime")


def endpoint_widgets(endpoint: MonitoredEndpoint, region: str) -> list:
    e = endpoint
    return [
        TextWidget(f"## {e.name} (variant `{e.variant}`, team {e.team})"),
        MetricWidget(
            "Invocations and errors",
            region,
            stat="Sum",
            metrics=(
                e.metric("Invocations", "Sum"),
                e.metric("Invocation4XXErrors", "Sum"),
                e.metric("Invocation5XXErrors", "Sum"),
            ),
        ),
        MetricWidget(
            f"Latency ({unit_label('ModelLatency', 'OverheadLatency')})",
            region,
            metrics=tuple(
                e.metric(name, stat, label=f"{name} {stat}")
                for name, stats in (
                    ("ModelLatency", ("p50", "p99")),
                    # AWS documents no percentiles for OverheadLatency.
                    ("OverheadLatency", ("Average", "Maximum")),
                )
                for stat in stats
            ),
        ),
        MetricWidget(
            f"Utilisation ({unit_label(*UTILISATION)})",
            region,
            metrics=tuple(e.metric(name, "Average") for name in UTILISATION),
        ),
        MetricWidget(
            "Loaded models and cache hit ratio",
            region,
            metrics=(
                # Emitted per instance: Maximum is the fullest instance.
                e.metric("LoadedModelCount", "Maximum", label="models loaded (fullest instance)"),
                e.metric("ModelCacheHit", "Average", label="cache hit ratio", y_axis="right"),
            ),
        ),
        MetricWidget(
            f"Model loading and unloading ({unit_label(*MODEL_LOADING)})",
            region,
            metrics=tuple(e.metric(name, "Average") for name in MODEL_LOADING),
        ),
        MetricWidget(
            "Instances: current vs autoscaling bounds",
            region,
            stat="Sum",
            metrics=(
                e.metric("Invocations", "Sum", id="inv", visible=False),
                e.metric("InvocationsPerInstance", "Sum", id="ipi", visible=False),
                Expression("IF(ipi > 0, inv / ipi, 0)", "current instances", "instances"),
            ),
            annotations=(
                HorizontalAnnotation(e.min_instances, "autoscaling min"),
                HorizontalAnnotation(e.max_instances, "autoscaling max"),
            ),
        ),
    ]


# Container Insights' cluster-level aggregates: each is published with ClusterName alone.
CLUSTER_PANELS = (
    ("Node utilisation", ("node_cpu_utilization", "node_memory_utilization")),
    ("Pod utilisation", ("pod_cpu_utilization", "pod_memory_utilization")),
    ("Nodes", ("cluster_node_count", "cluster_failed_node_count")),
    ("Running pods per node", ("node_number_of_running_pods",)),
)


def cluster_widgets(cluster_name: str, region: str) -> list:
    dims = (("ClusterName", cluster_name),)
    return [TextWidget(f"## EKS cluster {cluster_name} (Container Insights)")] + [
        MetricWidget(
            f"{title} ({unit_label(*names)})",
            region,
            metrics=tuple(
                Metric(documented_metric(name, "Average").namespace, name, dims, stat="Average")
                for name in names
            ),
            width=6,
        )
        for title, names in CLUSTER_PANELS
    ]


def dashboard(
    endpoints: Sequence[MonitoredEndpoint], region: str, cluster_name: str | None
) -> Dashboard:
    widgets: list = []
    for endpoint in endpoints:
        widgets += endpoint_widgets(endpoint, region)
    if cluster_name:
        widgets += cluster_widgets(cluster_name, region)
    if not widgets:
        widgets.append(TextWidget("No endpoints or cluster in this environment yet."))
    return Dashboard(tuple(widgets))


def team_dashboard_name(environment: str, team: str, shard: int = 0) -> str:
    """``mlplat-<env>-<team>``, ``_<shard>`` after it for a team's further serving shards: dashboard
    names take letters, digits, ``-`` and ``_`` (CloudWatch PutDashboard), and a team name (a DNS
    label) has no ``_``, so one team's shard never takes another team's name."""
    return f"mlplat-{environment}-{team}" + (f"_{shard}" if shard else "")


class Observability(PlatformComponent):
    """The environment's dashboard (``mlplat-<env>``) and per-endpoint alarms.

    ``endpoints``: what the serving layer created; ``cluster_name``: set when the EKS cluster
    has Container Insights on. Attributes: ``dashboard``, ``alarms`` (by endpoint name).
    """

    TYPE = "mlplat:observability:Observability"

    def __init__(
        self,
        name: str,
        *,
        region: str,
        endpoints: Sequence[MonitoredEndpoint],
        alarm_topic_arn: pulumi.Input[str],
        team_topic_arns: Mapping[str, pulumi.Input[str]] | None = None,
        cluster_name: str | None = None,
        thresholds: AlarmThresholds = AlarmThresholds(),
        cloudwatch_dashboard: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``cloudwatch_dashboard``: off where Grafana holds the dashboards (alarms stay)."""
        super().__init__(name, opts=opts)
        self.dashboard = (
            aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=name,
                dashboard_body=dashboard(endpoints, region, cluster_name).to_json(),
                opts=self.child_opts(),
            )
            if cloudwatch_dashboard
            else None
        )
        self.alarms = {
            endpoint.name: EndpointAlarms(
                f"{endpoint.name}-alarms",
                endpoint=endpoint,
                # The owning team's topic; the environment's where a team has none.
                topic_arn=(team_topic_arns or {}).get(endpoint.team, alarm_topic_arn),
                thresholds=thresholds,
                opts=self.child_opts(),
            )
            for endpoint in endpoints
        }
        self.register_outputs(
            {"dashboardName": self.dashboard.dashboard_name if self.dashboard else None}
        )


class EndpointAlarms(PlatformComponent):
    """The five alarms of one endpoint, owned (and tagged) by its team."""

    TYPE = "mlplat:observability:EndpointAlarms"

    def __init__(
        self,
        name: str,
        *,
        endpoint: MonitoredEndpoint,
        topic_arn,
        thresholds: AlarmThresholds,
        opts=None,
    ) -> None:
        super().__init__(name, owner=Ownership(team=endpoint.team), opts=opts)
        t, e = thresholds, endpoint
        self._endpoint, self._period = e, t.period_seconds
        self._common = {
            "evaluation_periods": t.evaluation_periods,
            "alarm_actions": [topic_arn],
            "ok_actions": [topic_arn],
            "treat_missing_data": "notBreaching",  # no traffic is not an outage
        }
        self.error_rate = self._alarm(
            "5xx-rate",
            f"More than {t.error_rate_percent}% of {e.name}'s invocations fail with 5XX.",
            "GreaterThanThreshold",
            t.error_rate_percent,
            metric_queries=[
                _query("errors", e, "Invocation5XXErrors", t.period_seconds),
                _query("invocations", e, "Invocations", t.period_seconds),
                {
                    "id": "rate",
                    "expression": "IF(invocations > 0, 100 * errors / invocations, 0)",
                    "label": "5XX rate (%)",
                    "return_data": True,
                },
            ],
        )
        self.latency = self._alarm(
            "p99-latency",
            f"{e.name}: p99 ModelLatency over {t.p99_model_latency_us:.0f}us.",
            "GreaterThanThreshold",
            t.p99_model_latency_us,
            **self._metric("ModelLatency", "p99"),
        )
        self.cache_hit = self._alarm(
            "cache-hit-ratio",
            f"{e.name}'s model cache hit ratio fell below {t.min_cache_hit_ratio}: models are "
            "evicted and reloaded; add memory or instances, or split the endpoint.",
            "LessThanThreshold",
            t.min_cache_hit_ratio,
            **self._metric("ModelCacheHit", "Average"),
        )
        self.loading_wait = self._alarm(
            "model-loading-wait",
            f"Requests to {e.name} wait over {t.max_loading_wait_us / 1e6:g}s on average for "
            "their model to load: too many models for the instances' memory, or cold models.",
            "GreaterThanThreshold",
            t.max_loading_wait_us,
            **self._metric("ModelLoadingWaitTime", "Average"),
        )
        self.at_max = self._alarm(
            "instances-at-max",
            f"{e.name} runs its maximum of {e.max_instances} instances: it cannot scale out "
            "further (raise scaling.max_instances or split the endpoint).",
            "GreaterThanOrEqualToThreshold",
            e.max_instances,
            metric_queries=[
                _query("invocations", e, "Invocations", t.period_seconds),
                _query("per_instance", e, "InvocationsPerInstance", t.period_seconds),
                {
                    # SageMaker counts 1/instances per request in InvocationsPerInstance.
                    "id": "instances",
                    "expression": "IF(per_instance > 0, invocations / per_instance, 0)",
                    "label": "instances",
                    "return_data": True,
                },
            ],
        )
        self.register_outputs({})

    def _metric(self, metric: str, stat: str) -> dict:
        """One documented metric of the endpoint; percentiles are extended statistics."""
        statistic = {"extended_statistic": stat} if stat.startswith("p") else {"statistic": stat}
        return {
            "namespace": documented_metric(metric, stat).namespace,
            "metric_name": metric,
            "dimensions": dict(self._endpoint.dimensions),
            "period": self._period,
            **statistic,
        }

    def _alarm(self, suffix: str, description: str, comparison: str, threshold, **query):
        name = f"{self._endpoint.name}-{suffix}"
        return aws.cloudwatch.MetricAlarm(
            name,
            name=name,
            alarm_description=description,
            comparison_operator=comparison,
            threshold=threshold,
            **query,
            **self._common,
            opts=self.child_opts(),
        )


def _query(query_id: str, endpoint: MonitoredEndpoint, metric: str, period: int) -> dict:
    return {
        "id": query_id,
        "return_data": False,
        "metric": {
            "namespace": documented_metric(metric, "Sum").namespace,
            "metric_name": metric,
            "dimensions": dict(endpoint.dimensions),
            "period": period,
            "stat": "Sum",
        },
    }
