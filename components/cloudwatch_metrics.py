"""The CloudWatch metrics the dashboard and alarms use, as AWS documents them.

SageMaker endpoints. Source: AWS, "Monitor Amazon SageMaker AI with Amazon CloudWatch" (SageMaker
developer guide, monitoring-cloudwatch), tables "Endpoint invocation metrics", "Multi-model
endpoint model loading metrics", "Multi-model endpoint model instance metrics" and "Endpoint
instance metrics" (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html;
mirrored in awsdocs/amazon-sagemaker-developer-guide, doc_source/monitoring-cloudwatch.md).

The dashboard and the alarms take namespace, unit and allowed statistics from these tables, so a
metric cannot be drawn from the wrong namespace or labelled in the wrong unit; the tests check
every exported widget and alarm against it. Facts worth remembering from the source:

- ``LoadedModelCount`` is an *instance* metric: ``/aws/sagemaker/Endpoints``, not
  ``AWS/SageMaker``; it is emitted per instance (Sum: models loaded across all instances).
- Latencies and model loading times are in microseconds, not milliseconds.
- Percentiles are documented for ``ModelLatency`` only, not for ``OverheadLatency``.
- Utilisation is a percentage per core/GPU summed over them (four GPUs: 0-400%).

EKS clusters. Source: AWS, "Amazon EKS and Kubernetes Container Insights metrics" (CloudWatch user
guide, Container-Insights-metrics-EKS): namespace ``ContainerInsights``; the metrics below are
each published with ``ClusterName`` alone, among other dimension sets. The table names no units:
"percentage" metrics are Percent here, "number of" metrics Count.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html"
CONTAINER_INSIGHTS_SOURCE = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-EKS.html"

INVOCATIONS = "AWS/SageMaker"
INSTANCES = "/aws/sagemaker/Endpoints"
CONTAINER_INSIGHTS = "ContainerInsights"
ENDPOINT_DIMENSIONS = ("EndpointName", "VariantName")
CLUSTER_DIMENSIONS = ("ClusterName",)

PERCENTILES = "Percentiles"  # any pNN statistic
_ALL = ("Average", "Sum", "Minimum", "Maximum", "SampleCount")


@dataclass(frozen=True)
class MetricSpec:
    namespace: str
    name: str
    unit: str  # CloudWatch's unit name: None, Count, Microseconds, Percent
    statistics: tuple[str, ...]
    dimensions: tuple[str, ...] = ENDPOINT_DIMENSIONS

    def allows(self, stat: str) -> bool:
        if stat in self.statistics:
            return True
        is_percentile = stat[:1] == "p" and stat[1:].replace(".", "", 1).isdigit()
        return is_percentile and PERCENTILES in self.statistics


ENDPOINT_METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        # Endpoint invocation metrics
        MetricSpec(INVOCATIONS, "Invocations", "None", ("Sum",)),
        MetricSpec(INVOCATIONS, "Invocation4XXErrors", "None", ("Average", "Sum")),
        MetricSpec(INVOCATIONS, "Invocation5XXErrors", "None", ("Average", "Sum")),
        MetricSpec(INVOCATIONS, "InvocationsPerInstance", "None", ("Sum",)),
        MetricSpec(INVOCATIONS, "ModelLatency", "Microseconds", (*_ALL, PERCENTILES)),
        MetricSpec(INVOCATIONS, "OverheadLatency", "Microseconds", _ALL),
        # Multi-model endpoint model loading metrics
        MetricSpec(INVOCATIONS, "ModelLoadingWaitTime", "Microseconds", _ALL),
        MetricSpec(INVOCATIONS, "ModelUnloadingTime", "Microseconds", _ALL),
        MetricSpec(INVOCATIONS, "ModelDownloadingTime", "Microseconds", _ALL),
        MetricSpec(INVOCATIONS, "ModelLoadingTime", "Microseconds", _ALL),
        MetricSpec(INVOCATIONS, "ModelCacheHit", "None", ("Average", "Sum", "SampleCount")),
        # Multi-model endpoint model instance metrics
        MetricSpec(INSTANCES, "LoadedModelCount", "None", _ALL),
        # Endpoint instance metrics (no statistics are listed: CloudWatch's usual ones apply)
        MetricSpec(INSTANCES, "CPUUtilization", "Percent", _ALL),
        MetricSpec(INSTANCES, "MemoryUtilization", "Percent", _ALL),
        MetricSpec(INSTANCES, "GPUUtilization", "Percent", _ALL),
        MetricSpec(INSTANCES, "GPUMemoryUtilization", "Percent", _ALL),
        MetricSpec(INSTANCES, "DiskUtilization", "Percent", _ALL),
    )
}

CLUSTER_METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec(CONTAINER_INSIGHTS, name, unit, _ALL, CLUSTER_DIMENSIONS)
        for name, unit in (
            ("cluster_node_count", "Count"),
            ("cluster_failed_node_count", "Count"),
            ("node_cpu_utilization", "Percent"),
            ("node_memory_utilization", "Percent"),
            ("node_number_of_running_pods", "Count"),
            ("pod_cpu_utilization", "Percent"),
            ("pod_memory_utilization", "Percent"),
        )
    )
}

# How a widget title names each unit ("Latency (microseconds)").
UNIT_LABELS = {"Microseconds": "microseconds", "Percent": "%", "Count": "count"}


def documented(name: str) -> MetricSpec:
    """The documented metric ``name``; refuses a metric the tables do not list."""
    spec = ENDPOINT_METRICS.get(name) or CLUSTER_METRICS.get(name)
    if spec is None:
        raise ValueError(
            f"{name} is not a documented endpoint or cluster metric "
            f"({SOURCE}, {CONTAINER_INSIGHTS_SOURCE})"
        )
    return spec


def documented_metric(name: str, stat: str) -> MetricSpec:
    """As ``documented``, and refuses a statistic AWS does not list for the metric."""
    spec = documented(name)
    if not spec.allows(stat):
        raise ValueError(f"{name}: statistic {stat} is not valid; AWS lists {spec.statistics}")
    return spec
