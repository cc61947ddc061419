"""Price a captured graph per month (730 hours) from the price snapshot.

Each priced resource becomes a ``LineItem`` with the monthly cost at its declared minimum, the
cost at its declared maximum (autoscaling bounds, node group max size) and a ``basis`` string that
shows the arithmetic. Costs are attributed with the ``mlplat:team`` / ``mlplat:model`` /
``mlplat:environment`` tags; a shared multi-model endpoint is split among its models by declared
memory, from the ``models`` output of its ``mlplat:serving:MultiModelEndpoint`` component.

Usage the graph cannot know is declared as tags on the resource, so it travels with any export:
``mlplat:cost:monthly-read-requests`` / ``mlplat:cost:monthly-write-requests`` on an on-demand
DynamoDB table (request units per month) and ``mlplat:cost:expected-storage-gb`` on an S3 bucket.
Without them those resources are priced at $0 and their basis says so.
Free tiers, taxes, data transfer and per-request charges are not estimated.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from cost_model import prometheus
from cost_model.graph import Graph, Resource
from cost_model.prices import (
    HOURS_PER_MONTH,
    NetworkPrices,
    PriceLookupError,
    PriceSnapshot,
    RegionPrices,
)
from cost_model.unpriced import Unpriced, unpriced
from infra.declarations.batch import pod_memory_gb, runs_per_month
from infra.declarations.tags import LOAD_BALANCER_JOINS, LOAD_BALANCER_LABEL
from infra.eks_support import SupportTier, support_tier

TEAM_TAG = "mlplat:team"
MODEL_TAG = "mlplat:model"
ENVIRONMENT_TAG = "mlplat:environment"
READS_TAG = "mlplat:cost:monthly-read-requests"
WRITES_TAG = "mlplat:cost:monthly-write-requests"
STORAGE_TAG = "mlplat:cost:expected-storage-gb"
RUN_MINUTES_TAG = "mlplat:cost:expected-run-minutes"
START_JOB_RUN = "arn:aws:scheduler:::aws-sdk:emrcontainers:startJobRun"

MULTI_MODEL_ENDPOINT = "mlplat:serving:MultiModelEndpoint"
SHARED = "(shared)"

# What EKS launches when neither instanceTypes nor a launch template names an instance type.
EKS_DEFAULT_NODE_TYPE = "t3.medium"
# pulumi-eks's default self-managed node group, created unless skipDefaultNodeGroup is true.
PULUMI_EKS_DEFAULT_NODES = {"instanceType": "t2.medium", "desiredCapacity": 2, "maxSize": 2}


class EstimateError(ValueError):
    """Resources the snapshot cannot price, or whose declared usage is malformed; all at once."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("cannot estimate:\n" + "\n".join(f"  - {p}" for p in problems))


class UsageError(ValueError):
    """A declared usage tag that is not a non-negative number."""


@dataclass(frozen=True)
class EstimateOptions:
    as_of: dt.date = field(default_factory=dt.date.today)
    # Fraction saved against on-demand where the snapshot has no spot price; spot saves 60-90%
    # depending on type and zone, 0.6 is the cautious end. Set it from your own spot history.
    spot_discount: float = 0.6
    # Region for resources whose provider records none (e.g. from Pulumi.<env>.yaml aws:region).
    default_region: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.spot_discount < 1:
            raise ValueError(f"spot_discount must be in [0, 1), got {self.spot_discount}")


@dataclass(frozen=True)
class Share:
    """A model's part of a shared resource."""

    model: str
    team: str | None
    fraction: float


@dataclass(frozen=True)
class LineItem:
    urn: str
    type: str
    region: str
    monthly: float
    max_monthly: float
    basis: str
    environment: str
    team: str | None = None
    model: str | None = None
    shares: tuple[Share, ...] = ()

    def allocations(self, dimension: str) -> list[tuple[str, float]]:
        """(name, fraction) pairs for 'team', 'model' or 'environment'; unowned goes to SHARED."""
        if dimension == "environment":
            return [(self.environment, 1.0)]
        if self.shares:
            return [(getattr(share, dimension) or SHARED, share.fraction) for share in self.shares]
        return [(getattr(self, dimension) or SHARED, 1.0)]


@dataclass(frozen=True)
class Amount:
    monthly: float
    max_monthly: float


@dataclass(frozen=True)
class Estimate:
    items: tuple[LineItem, ...]
    currency: str = "USD"
    # The graph's types no pricer reads, with why (cost_model.unpriced).
    unpriced: tuple[Unpriced, ...] = ()

    @property
    def total(self) -> Amount:
        return Amount(
            sum(item.monthly for item in self.items), sum(item.max_monthly for item in self.items)
        )

    def totals_by(
        self, dimension: str, items: Iterable[LineItem] | None = None
    ) -> dict[str, Amount]:
        low: dict[str, float] = defaultdict(float)
        high: dict[str, float] = defaultdict(float)
        for item in self.items if items is None else items:
            for name, fraction in item.allocations(dimension):
                low[name] += item.monthly * fraction
                high[name] += item.max_monthly * fraction
        return {name: Amount(low[name], high[name]) for name in sorted(low)}


@dataclass(frozen=True)
class _Priced:
    monthly: float
    max_monthly: float
    basis: str
    shares: tuple[Share, ...] = ()
    # The owner where the resource carries no mlplat:team tag of its own (a Kubernetes object).
    team: str | None = None


def estimate(
    graph: Graph, snapshot: PriceSnapshot, options: EstimateOptions | None = None
) -> Estimate:
    """Price every resource the estimator knows; raise one EstimateError naming every problem."""
    context = _Context(graph, snapshot, options or EstimateOptions())
    items, problems = [], []
    for resource in graph.resources:
        pricer = _PRICERS.get(resource.type)
        if pricer is None:
            continue
        try:
            region, prices = context.prices(resource)
            priced = pricer(resource, prices, region, context)
        except (PriceLookupError, UsageError) as error:
            problems.append(f"{resource.urn}: {error}")
            continue
        if priced is not None:
            items.append(_line_item(resource, region, priced))
    if problems:
        raise EstimateError(problems)
    left_out = unpriced((resource.type for resource in graph.resources), frozenset(_PRICERS))
    return Estimate(tuple(items), currency=snapshot.currency, unpriced=left_out)


def _line_item(resource: Resource, region: str, priced: _Priced) -> LineItem:
    tags = resource.tags
    return LineItem(
        urn=resource.urn,
        type=resource.type,
        region=region,
        monthly=priced.monthly,
        max_monthly=priced.max_monthly,
        basis=priced.basis,
        environment=tags.get(ENVIRONMENT_TAG) or resource.environment,
        team=None if priced.shares else priced.team or tags.get(TEAM_TAG),
        model=None if priced.shares else tags.get(MODEL_TAG),
        shares=priced.shares,
    )


class _Context:
    """Graph relations and prices the pricers share."""

    def __init__(self, graph: Graph, snapshot: PriceSnapshot, options: EstimateOptions):
        self.graph, self.snapshot, self.options = graph, snapshot, options
        self._load_balancers: dict[str, str | None] | None = None
        self._stack_region = graph.default_region() or options.default_region
        # Under the real engine pulumi-eks components show their aws:eks children; offline they
        # do not. Price the child where it exists, so nothing is counted twice.
        self._eks_components_with_children = {
            ancestor.urn
            for child in graph.of_type("aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup")
            for ancestor in graph.ancestors(child)
        }

    def load_balancer_of(self, ingress: Resource) -> str | None:
        """The URN of the Ingress that carries the ALB ``ingress`` is served by; None when no
        AWS Load Balancer Controller serves it (another ingress class), or when the Ingress
        joins a load balancer whose owning Ingress is in another stack's graph."""
        if self._load_balancers is None:
            groups: dict[str, str] = {}  # IngressGroup (or a lone Ingress's URN) -> its carrier
            members: dict[str, str] = {}  # Ingress URN -> its group
            for resource in self.graph.of_type("kubernetes:networking.k8s.io/v1:Ingress"):
                spec = resource.prop("spec") or {}
                if spec.get("ingressClassName") != ALB_INGRESS_CLASS:
                    continue
                metadata = resource.prop("metadata") or {}
                group = (metadata.get("annotations") or {}).get(GROUP_ANNOTATION) or resource.urn
                members[resource.urn] = group
                # A split team's other shards join the group's load balancer: its cost is the
                # owning shard's, in whichever graph that shard is (its stack's, or them all).
                # Without the label (Ingresses not made by mlplat) the group's first carries it.
                if (metadata.get("labels") or {}).get(LOAD_BALANCER_LABEL) != LOAD_BALANCER_JOINS:
                    groups.setdefault(group, resource.urn)
            self._load_balancers = {urn: groups.get(group) for urn, group in members.items()}
        return self._load_balancers.get(ingress.urn)

    def priced_by_children(self, component: Resource) -> bool:
        return component.urn in self._eks_components_with_children

    def prices(self, resource: Resource) -> tuple[str, RegionPrices]:
        region = self.graph.region_of(resource) or self._stack_region
        if region is None:
            raise PriceLookupError(
                "its provider records no region and no default region was given (--region)"
            )
        return region, self.snapshot.region(region)

    def endpoints_using(self, configuration: Resource) -> list[Resource]:
        name = configuration.prop("name") or configuration.id
        return [
            endpoint
            for endpoint in self.graph.of_type("aws:sagemaker/endpoint:Endpoint")
            if (name and endpoint.prop("endpointConfigName") == name)
            or configuration.urn in endpoint.dependencies
        ]

    def scaling_target(self, endpoint_name: str, variant: str) -> Resource | None:
        resource_id = f"endpoint/{endpoint_name}/variant/{variant}"
        for target in self.graph.of_type("aws:appautoscaling/target:Target"):
            if target.prop("resourceId") == resource_id:
                return target
        return None

    def model_shares(self, resource: Resource, endpoint_names: list[str]) -> tuple[Share, ...]:
        """Shares by declared memory, from the MultiModelEndpoint serving these endpoints."""
        component = next(
            (
                candidate
                for candidate in self.graph.of_type(MULTI_MODEL_ENDPOINT)
                if candidate.outputs.get("endpointName") in endpoint_names
            ),
            None,
        ) or next(
            (a for a in self.graph.ancestors(resource) if a.type == MULTI_MODEL_ENDPOINT), None
        )
        models = (component.outputs.get("models") if component else None) or []
        total = sum(model["memoryMb"] for model in models)
        if not total:
            return ()
        return tuple(
            Share(model["name"], model.get("team"), model["memoryMb"] / total) for model in models
        )

    def launch_template_instance_type(self, node_group: Resource) -> str | None:
        reference = node_group.prop("launchTemplate") or {}
        wanted = {reference.get("id"), reference.get("name")} - {None}
        for template in self.graph.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
            if wanted & {template.id, template.prop("id"), template.prop("name")}:
                return template.prop("instanceType")
        return None


# --- formatting ---------------------------------------------------------------------------------


def _rate(value: float) -> str:
    """A unit price as AWS writes it: every significant digit, no exponent ($0.00065)."""
    # Ten significant digits drop float noise (0.192 × 0.4 = 0.07680000000000001).
    return "$" + format(Decimal(f"{value:.10g}").normalize(), "f")


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _hours(count: float, label: str, rate: float) -> str:
    return f"{count:g} × {label} × {HOURS_PER_MONTH} h × {_rate(rate)}/h"


# --- pricers: one per kind of resource ----------------------------------------------------------

# A pricer returns None for a resource whose cost another line already carries.
Pricer = Callable[[Resource, RegionPrices, str, _Context], "_Priced | None"]


def _endpoint_configuration(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced:
    endpoints = context.endpoints_using(resource)
    if not endpoints:
        return _Priced(0.0, 0.0, "no endpoint in the graph uses this configuration: no instances")
    names = [endpoint.prop("name") or endpoint.id or endpoint.name for endpoint in endpoints]
    low = high = 0.0
    parts = []
    for endpoint_name in names:
        for variant in resource.prop("productionVariants") or []:
            variant_name = variant.get("variantName", "")
            instance_type = variant.get("instanceType")
            if not instance_type:
                parts.append(
                    f"variant {variant_name}: serverless, billed per request, not estimated"
                )
                continue
            rate = prices.sagemaker_hour(instance_type, region)
            target = context.scaling_target(endpoint_name, variant_name)
            if target is not None:
                initial = variant.get("initialInstanceCount") or 1
                minimum = target.prop("minCapacity", initial)
                maximum = max(target.prop("maxCapacity", minimum), minimum)
                bounds = f"scaling target minimum, up to {maximum} at maximum"
            else:
                minimum = maximum = variant.get("initialInstanceCount") or 1
                bounds = "initialInstanceCount, no scaling target"
            low += minimum * HOURS_PER_MONTH * rate
            high += maximum * HOURS_PER_MONTH * rate
            parts.append(f"{_hours(minimum, instance_type, rate)} ({bounds})")
    shares = context.model_shares(resource, names)
    basis = " + ".join(parts)
    if shares:
        split = ", ".join(f"{share.model} {share.fraction:.0%}" for share in shares)
        basis += f"; split by declared model memory: {split}"
    return _Priced(low, high, basis, shares)


def _node_rate(
    types: list[str], spot: bool, prices: RegionPrices, region: str, options: EstimateOptions
) -> tuple[float, str]:
    """Hourly rate of one node, priced at the dearest of its interchangeable types (upper bound)."""
    rated = []
    for instance_type in types:
        on_demand = prices.ec2_hour(instance_type, region)
        if not spot:
            rated.append((on_demand, instance_type, "on-demand"))
        elif instance_type in prices.ec2_spot_instance_hour:
            rated.append(
                (prices.ec2_spot_instance_hour[instance_type], instance_type, "spot price snapshot")
            )
        else:
            discount = f"{options.spot_discount:.0%}"
            how = f"spot: on-demand {_rate(on_demand)} less the configured {discount} discount"
            rated.append((on_demand * (1 - options.spot_discount), instance_type, how))
    rate, instance_type, how = max(rated)
    if len(types) > 1:
        how += f", dearest of {'/'.join(types)}"
    return rate, f"{instance_type} ({how})"


def _node_group(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced | None:
    if context.priced_by_children(resource):
        return None
    types = resource.prop("instanceTypes") or [
        context.launch_template_instance_type(resource) or EKS_DEFAULT_NODE_TYPE
    ]
    scaling = resource.prop("scalingConfig") or {}
    count = scaling.get("desiredSize")
    count = scaling.get("minSize", 0) if count is None else count
    maximum = max(scaling.get("maxSize", count), count)
    spot = (resource.prop("capacityType") or "ON_DEMAND").upper() == "SPOT"
    rate, label = _node_rate(list(types), spot, prices, region, context.options)
    basis = f"{_hours(count, label, rate)}; up to {maximum} nodes at max size"
    return _Priced(count * HOURS_PER_MONTH * rate, maximum * HOURS_PER_MONTH * rate, basis)


def _cluster(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced | None:
    if context.priced_by_children(resource):
        return None
    support_type = (resource.prop("upgradePolicy") or {}).get("supportType")
    tier, why = support_tier(resource.prop("version"), context.options.as_of, support_type)
    rate = (
        prices.eks.extended_support_cluster_hour
        if tier is SupportTier.EXTENDED
        else prices.eks.standard_cluster_hour
    )
    low = high = HOURS_PER_MONTH * rate
    basis = f"control plane {_hours(1, 'cluster', rate)} ({why})"
    if resource.type == "eks:index:Cluster" and not resource.prop("skipDefaultNodeGroup"):
        # Offline, pulumi-eks's default node group is not a separate resource: price it here.
        options = {**PULUMI_EKS_DEFAULT_NODES, **(resource.prop("nodeGroupOptions") or {})}
        for key in PULUMI_EKS_DEFAULT_NODES:
            options[key] = resource.prop(key, options[key])
        node_rate = prices.ec2_hour(options["instanceType"], region)
        low += options["desiredCapacity"] * HOURS_PER_MONTH * node_rate
        high += options["maxSize"] * HOURS_PER_MONTH * node_rate
        nodes = _hours(options["desiredCapacity"], options["instanceType"], node_rate)
        basis += f" + default node group {nodes} (skipDefaultNodeGroup not set)"
    return _Priced(low, high, basis)


def _usage_tag(resource: Resource, tag: str) -> float | None:
    value = resource.tags.get(tag)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number < 0:
        raise UsageError(f"tag {tag}={value!r} is not a non-negative number")
    return number


def _table(resource: Resource, prices: RegionPrices, region: str, context: _Context) -> _Priced:
    dynamodb = prices.dynamodb
    if (resource.prop("billingMode") or "PROVISIONED").upper() == "PAY_PER_REQUEST":
        reads, writes = _usage_tag(resource, READS_TAG), _usage_tag(resource, WRITES_TAG)
        if reads is None and writes is None:
            basis = f"on-demand; no request volume declared (tags {READS_TAG}, {WRITES_TAG}): $0"
            return _Priced(0.0, 0.0, basis)
        reads, writes = reads or 0.0, writes or 0.0
        cost = (
            reads / 1e6 * dynamodb.on_demand_read_per_million
            + writes / 1e6 * dynamodb.on_demand_write_per_million
        )
        basis = (
            f"on-demand: {reads / 1e6:g}M reads × {_rate(dynamodb.on_demand_read_per_million)}/M"
            f" + {writes / 1e6:g}M writes × {_rate(dynamodb.on_demand_write_per_million)}/M"
            " (declared volumes from tags)"
        )
        return _Priced(cost, cost, basis)
    indexes = resource.prop("globalSecondaryIndexes") or []
    rcu = (resource.prop("readCapacity") or 0) + sum(i.get("readCapacity") or 0 for i in indexes)
    wcu = (resource.prop("writeCapacity") or 0) + sum(i.get("writeCapacity") or 0 for i in indexes)
    cost = HOURS_PER_MONTH * (
        rcu * dynamodb.provisioned_rcu_hour + wcu * dynamodb.provisioned_wcu_hour
    )
    basis = (
        f"provisioned: {_hours(rcu, 'RCU', dynamodb.provisioned_rcu_hour)}"
        f" + {_hours(wcu, 'WCU', dynamodb.provisioned_wcu_hour)} (table and indexes)"
    )
    return _Priced(cost, cost, basis)


def _bucket(resource: Resource, prices: RegionPrices, region: str, context: _Context) -> _Priced:
    gigabytes = _usage_tag(resource, STORAGE_TAG)
    if gigabytes is None:
        return _Priced(0.0, 0.0, f"no expected storage declared (tag {STORAGE_TAG}): $0")
    cost = gigabytes * prices.s3_standard_gb_month
    basis = f"{gigabytes:g} GB × {_rate(prices.s3_standard_gb_month)}/GB-month (S3 Standard)"
    return _Priced(cost, cost, basis)


def _alarm(resource: Resource, prices: RegionPrices, region: str, context: _Context) -> _Priced:
    queries = resource.prop("metricQueries") or []
    metrics = [query["metric"] for query in queries if query.get("metric")] or [
        {"period": resource.prop("period")}
    ]
    # CloudWatch bills each metric an alarm watches; periods under a minute are high resolution.
    high_resolution = any((metric.get("period") or 60) < 60 for metric in metrics)
    cloudwatch = prices.cloudwatch
    rate = (
        cloudwatch.high_resolution_alarm_metric_month
        if high_resolution
        else cloudwatch.standard_alarm_metric_month
    )
    kind = "high-resolution" if high_resolution else "standard"
    cost = len(metrics) * rate
    return _Priced(cost, cost, f"{len(metrics)} {kind} alarm metric × {_rate(rate)}/month")


def _monthly(
    label: str,
    price: Callable[[RegionPrices], float],
    resource: Resource,
    prices: RegionPrices,
    region: str,
    context: _Context,
) -> _Priced:
    """A flat charge: one unit a month at the snapshot's price."""
    rate = price(prices)
    return _Priced(rate, rate, f"1 {label} × {_rate(rate)}/month")


def _nat_gateway(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced:
    cost = HOURS_PER_MONTH * prices.nat_gateway_hour
    basis = f"{_hours(1, 'NAT gateway', prices.nat_gateway_hour)} (data processing not estimated)"
    return _Priced(cost, cost, basis)


def _amp_usage(resource: Resource) -> tuple[float, float] | None:
    series = _usage_tag(resource, prometheus.SERIES_TAG)
    interval = _usage_tag(resource, prometheus.INTERVAL_TAG)
    return (series, interval) if series is not None and interval else None


def _amp_workspace(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced:
    usage = _amp_usage(resource)
    if prices.amp is None:
        return _Priced(0.0, 0.0, f"no AMP prices for {region} in the snapshot: $0")
    if usage is None:
        return _Priced(0.0, 0.0, f"no series or scrape interval declared ({prometheus.SERIES_TAG})")
    cost = prometheus.amp_cost(*usage, prices.amp)
    return _Priced(cost.monthly, cost.monthly, cost.basis(prices.amp))


def _amp_rule_namespace(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced:
    """Layered stacks: a team shard's series are tagged on its first rule namespace (the
    workspace and scraper carry none): their ingestion, storage and collected samples."""
    usage = _amp_usage(resource)
    if usage is None:
        return _Priced(0.0, 0.0, "no series declared on this namespace: priced on the workspace")
    if prices.amp is None:
        return _Priced(0.0, 0.0, f"no AMP prices for {region} in the snapshot: $0")
    cost = prometheus.amp_cost(*usage, prices.amp)
    collected = cost.samples / prometheus.TEN_MILLION * prices.amp.collected_per_10m_samples
    total = cost.monthly + collected
    basis = f"{cost.basis(prices.amp)}; collected ${collected:,.2f}"
    return _Priced(total, total, basis)


def _amp_scraper(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced:
    usage = _amp_usage(resource)
    if prices.amp is None:
        return _Priced(0.0, 0.0, f"no AMP prices for {region} in the snapshot: $0")
    samples = prometheus.samples_per_month(*usage) if usage else 0.0
    cost, basis = prometheus.collector_cost(samples, prices.amp)
    return _Priced(cost, cost, basis)


def _grafana_workspace(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced:
    if prices.grafana is None:
        return _Priced(0.0, 0.0, f"no Grafana prices for {region} in the snapshot: $0")
    editors = int(_usage_tag(resource, prometheus.EDITORS_TAG) or 0)
    viewers = int(_usage_tag(resource, prometheus.VIEWERS_TAG) or 0)
    cost, basis = prometheus.grafana_cost(editors, viewers, prices.grafana)
    return _Priced(cost, cost, basis)


# --- Spark runs on EMR on EKS, and the Kafka cluster ----------------------------------------------


def _spark_conf(parameters: str) -> dict[str, str]:
    """``--conf k=v`` pairs of a job's sparkSubmitParameters."""
    words = parameters.split()
    return dict(
        words[i + 1].split("=", 1)
        for i, word in enumerate(words[:-1])
        if word == "--conf" and "=" in words[i + 1]
    )


def _gigabytes(value: str) -> int:
    return int(value.lower().rstrip("g"))


def _spark_run(
    parameters: str, minutes: float, prices: RegionPrices, region: str
) -> tuple[float, str]:
    """One run: EMR on EKS's charge for its pods' requests. The nodes they run on are the
    node groups' lines (the spot group's maximum covers the scale-out), so a schedule's line
    depends on nothing else in the graph and a serving stack prices alone as in the whole."""
    if prices.emr_on_eks is None:
        raise PriceLookupError(f"no EMR on EKS rates for {region} in the price snapshot")
    conf = _spark_conf(parameters)
    executors = int(conf.get("spark.executor.instances", 1))
    cores = int(conf.get("spark.executor.cores", 1))
    driver_cores = int(conf.get("spark.driver.cores", 1))
    memory = executors * pod_memory_gb(_gigabytes(conf.get("spark.executor.memory", "1g")))
    memory += pod_memory_gb(_gigabytes(conf.get("spark.driver.memory", "1g")))
    vcpu, hours = executors * cores + driver_cores, minutes / 60
    emr = prices.emr_on_eks
    cost = hours * (vcpu * emr.vcpu_hour + float(memory) * emr.gb_hour)
    basis = (
        f"{minutes:g} min × ({vcpu} vCPU × {_rate(emr.vcpu_hour)} + {float(memory):g} GB × "
        f"{_rate(emr.gb_hour)}) per hour (EMR on EKS; the nodes are the node groups' lines)"
    )
    return cost, basis


def _run_minutes(tags: dict[str, str]) -> float:
    value = tags.get(RUN_MINUTES_TAG)
    try:
        minutes = float(value) if value is not None else -1.0
    except ValueError:
        minutes = -1.0
    if minutes <= 0:
        raise UsageError(f"{RUN_MINUTES_TAG}={value!r} is not a positive number of minutes")
    return minutes


def _batch_schedule(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced | None:
    target = resource.prop("target") or {}
    if target.get("arn") != START_JOB_RUN:
        return None
    request = json.loads(target["input"])  # a startJobRun target always carries its request
    tags = request.get("Tags") or {}
    parameters = request["JobDriver"]["SparkSubmitJobDriver"]["SparkSubmitParameters"]
    per_run, basis = _spark_run(parameters, _run_minutes(tags), prices, region)
    expression = resource.prop("scheduleExpression")
    runs = runs_per_month(expression, HOURS_PER_MONTH)
    shares = (
        (Share(tags["mlplat:model"], tags.get("mlplat:team"), 1.0),)
        if tags.get("mlplat:model")
        else ()
    )
    basis = f"{runs:g} runs/month ({expression}) × {_money(per_run)}/run: {basis}"
    return _Priced(runs * per_run, runs * per_run, basis, shares)


def _job_template(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced:
    data = resource.prop("jobTemplateData") or {}
    driver = (data.get("jobDriver") or {}).get("sparkSubmitJobDriver") or {}
    minutes = _run_minutes(resource.tags)
    per_run, basis = _spark_run(driver.get("sparkSubmitParameters", ""), minutes, prices, region)
    return _Priced(0.0, 0.0, f"on demand: {_money(per_run)} per run, not a monthly cost: {basis}")


def _msk_cluster(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced:
    if prices.msk is None:
        raise PriceLookupError(f"no MSK prices for {region} in the price snapshot")
    nodes = resource.prop("brokerNodeGroupInfo") or {}
    instance_type = nodes.get("instanceType")
    rate = prices.msk.broker(instance_type, region)
    brokers = resource.prop("numberOfBrokerNodes") or 0
    volume = ((nodes.get("storageInfo") or {}).get("ebsStorageInfo") or {}).get("volumeSize") or 0
    storage = brokers * volume * prices.msk.storage_gb_month
    cost = brokers * HOURS_PER_MONTH * rate + storage
    basis = (
        f"{_hours(brokers, instance_type, rate)} + {brokers} × {volume} GB × "
        f"{_rate(prices.msk.storage_gb_month)}/GB-month (data transfer not estimated)"
    )
    return _Priced(cost, cost, basis)


# --- The network: interface endpoints, public addresses, the routes' load balancers -------------

GROUP_ANNOTATION = "alb.ingress.kubernetes.io/group.name"
TAGS_ANNOTATION = "alb.ingress.kubernetes.io/tags"
ALB_INGRESS_CLASS = "alb"


def _network(prices: RegionPrices, region: str) -> NetworkPrices:
    if prices.network is None:
        raise PriceLookupError(f"no network prices for {region} in the price snapshot")
    return prices.network


def _vpc_endpoint(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced | None:
    """An interface endpoint bills every hour in each Availability Zone (one subnet per zone);
    a gateway endpoint (S3, DynamoDB) bills nothing."""
    if (resource.prop("vpcEndpointType") or "Gateway") != "Interface":
        return None
    zones = len(resource.prop("subnetIds") or [])
    rate = _network(prices, region).interface_endpoint_az_hour
    cost = zones * HOURS_PER_MONTH * rate
    # com.amazonaws.<region>.<service>: the service part (ecr.api, sagemaker.runtime, ...)
    service = (resource.prop("serviceName") or "").split(".", 3)[-1]
    basis = f"{_hours(zones, f'{service} endpoint AZ', rate)} (data processed not estimated)"
    return _Priced(cost, cost, basis)


def _public_address(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced:
    rate = _network(prices, region).public_ipv4_hour
    cost = HOURS_PER_MONTH * rate
    return _Priced(cost, cost, _hours(1, "public IPv4 address", rate))


def _ingress(
    resource: Resource, prices: RegionPrices, region: str, context: _Context
) -> _Priced | None:
    """The AWS Load Balancer Controller makes one ALB per IngressGroup (per Ingress without a
    group): one Ingress of the group carries it (``load_balancer_of``), so a group split over
    Ingresses, or over serving stacks, counts once."""
    if context.load_balancer_of(resource) != resource.urn:
        return None
    rate = _network(prices, region).application_load_balancer_hour
    cost = HOURS_PER_MONTH * rate
    basis = f"{_hours(1, 'Application Load Balancer', rate)} (LCUs not estimated: by traffic)"
    # The controller tags the load balancer from the annotation: the team it serves owns it.
    # It trims each comma-separated pair and splits it at its first '=' (aws-load-balancer-
    # controller pkg/annotations/parser.go, ParseStringMapAnnotation).
    annotations = (resource.prop("metadata") or {}).get("annotations") or {}
    pairs = (pair.strip() for pair in annotations.get(TAGS_ANNOTATION, "").split(","))
    tags = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    return _Priced(cost, cost, basis, team=tags.get(TEAM_TAG))


# Partials of module-level pricers, not closures made by a factory: each call looks the pricer
# up (where mutation testing can reach it; a closure's body is fixed when the module loads).
_PRICERS: dict[str, Pricer] = {
    "aws:amp/workspace:Workspace": _amp_workspace,
    "aws:amp/scraper:Scraper": _amp_scraper,
    "aws:amp/ruleGroupNamespace:RuleGroupNamespace": _amp_rule_namespace,
    "aws:grafana/workspace:Workspace": _grafana_workspace,
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _endpoint_configuration,
    "eks:index:Cluster": _cluster,
    "aws:eks/cluster:Cluster": _cluster,
    "eks:index:ManagedNodeGroup": _node_group,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:dynamodb/table:Table": _table,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:cloudwatch/dashboard:Dashboard": partial(
        _monthly, "dashboard", lambda p: p.cloudwatch.dashboard_month
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:kms/key:Key": partial(_monthly, "customer managed key", lambda p: p.kms_key_month),
    "aws:ec2/natGateway:NatGateway": _nat_gateway,
    "aws:scheduler/schedule:Schedule": _batch_schedule,
    "aws:emrcontainers/jobTemplate:JobTemplate": _job_template,
    "aws:msk/cluster:Cluster": _msk_cluster,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:ec2/eip:Eip": _public_address,
    "kubernetes:networking.k8s.io/v1:Ingress": _ingress,
}

# The model lifecycle's schedules and drift-triggered retraining targets.
from cost_model.lifecycle import PRICERS as _LIFECYCLE_PRICERS  # noqa: E402


def _first_of(
    pricers: tuple[Pricer, ...],
    resource: Resource,
    prices: RegionPrices,
    region: str,
    context: _Context,
) -> _Priced | None:
    """One type, several kinds (a schedule starts a Spark job or a pipeline): the first pricer
    that recognises the resource prices it."""
    for pricer in pricers:
        priced = pricer(resource, prices, region, context)
        if priced is not None:
            return priced
    return None


_PRICERS.update(
    {
        type_: partial(_first_of, (_PRICERS[type_], pricer)) if type_ in _PRICERS else pricer
        for type_, pricer in _LIFECYCLE_PRICERS.items()
    }
)
# Prediction events: the Firehose sink's charge for each publishing model (cost_model/events.py).
from cost_model.events import PRICERS as _EVENTS_PRICERS  # noqa: E402

_PRICERS.update(_EVENTS_PRICERS)

# The routes' token issuer: each team's M2M app client.
from cost_model.route_auth import PRICERS as _ROUTE_AUTH_PRICERS  # noqa: E402

_PRICERS.update(_ROUTE_AUTH_PRICERS)

PRICED_TYPES = frozenset(_PRICERS)
