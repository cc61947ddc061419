"""What one environment (one Pulumi stack) is: its settings, its teams and the models it serves.

Settings come from ``Pulumi.<env>.yaml`` (the ``mlplat:`` config namespace, camelCase keys as
Pulumi config is usually written); teams and models come from ``stacks/<env>.py``.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    AliasGenerator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from infra.declarations.errors import raising
from infra.declarations.model import Declaration, ModelDeclaration, TeamName
from infra.declarations.routes import RouteSettings
from infra.declarations.s3 import s3_prefix_problem
from infra.declarations.streaming import StreamingSettings
from infra.s3_names import BUCKET_NAME_ONLY


class EnvironmentName(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value)
    except ValueError as error:
        raise ValueError(f"{value!r} is not a CIDR block: {error}") from None
    return value


# AWS allows a VPC between /16 and /28 (IPv4); the subnet layout (components/network.py) cuts it
# into eight blocks, two per zone for up to three zones plus spare, of at most /28: so /25.
VPC_PREFIXES = range(16, 26)


def _vpc_cidr(value: str) -> str:
    network = ipaddress.ip_network(_cidr(value))
    if network.version != 4 or network.prefixlen not in VPC_PREFIXES:
        raise ValueError(
            f"{value!r}: a VPC needs an IPv4 block from /{VPC_PREFIXES[0]} to "
            f"/{VPC_PREFIXES[-1]} (AWS allows /16 to /28; the platform's subnets need a /25)"
        )
    return value


# EKS's public endpoint allowlist takes IPv4 blocks on an IPv4 cluster ("You can't add IPv6 CIDR
# blocks to IPv4 clusters", VpcConfigRequest.publicAccessCidrs in the EKS API reference), and
# "the block cannot include reserved addresses" (EKS User Guide, "Configure network access to
# cluster API server endpoint"; https://en.wikipedia.org/wiki/Reserved_IP_addresses). 0.0.0.0/0,
# EKS's own default (every address), is accepted. The documentation ranges (203.0.113.0/24, ...)
# are not refused: AWS's own example in that sentence is 203.0.113.5/32.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(block)
    for block in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # private (RFC 1918)
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)


def _public_cidr(value: str) -> str:
    network = ipaddress.ip_network(_cidr(value))
    if network.version != 4:
        raise ValueError(f"{value!r}: the cluster is IPv4; its public endpoint takes IPv4 blocks")
    reserved = [block for block in _NOT_PUBLIC if network.overlaps(block)]
    if reserved and network.prefixlen > 0:
        raise ValueError(
            f"{value!r} includes reserved addresses ({reserved[0]}), which EKS refuses: list "
            "public addresses (those in the VPC reach the private endpoint)"
        )
    return value


# The branch CI deploys from, as git names it: it becomes the OIDC subject
# `repo:<repository>:ref:refs/heads/<branch>` the deployer role trusts, so a name git would
# refuse is a role no workflow can assume. git's rules (https://git-scm.com/docs/
# git-check-ref-format): no space, control character, ~ ^ : ? * [ \ or "@{"; no "..", "//";
# no part starting with "." or ending with ".lock"; not starting with "/" nor ending with "/"
# or "."; and `git branch` refuses a leading "-".
_BAD_BRANCH = re.compile(
    r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|//|@\{"  # characters and sequences git refuses
    r"|(^|/)\.|\.lock(/|$)|^[-/]|[/.]$"  # where parts start and end
)


def _branch(value: str) -> str:
    bad = _BAD_BRANCH.search(value)
    if not value or bad:
        found = f" ({bad.group()!r} at {bad.start()})" if bad and bad.group() else ""
        raise ValueError(
            f"{value!r} is not a git branch name{found}; name the branch exactly as git shows "
            "it (no spaces or wildcards: the deployer role trusts one branch)"
        )
    return value


Email = Annotated[str, AfterValidator(_email)]
PublicCidr = Annotated[str, AfterValidator(_public_cidr)]
VpcCidr = Annotated[str, AfterValidator(_vpc_cidr)]
Branch = Annotated[str, AfterValidator(_branch)]
ChartVersion = Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]


class Settings(Declaration):
    """Config sections: read from camelCase keys in Pulumi.<env>.yaml, snake_case in Python."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=AliasGenerator(validation_alias=to_camel),
        populate_by_name=True,
    )


class TeamQuota(Declaration):
    cpu: int = Field(default=16, gt=0, description="requests.cpu for the team namespace.")
    memory_gib: int = Field(default=64, gt=0)
    gpus: int = Field(default=0, ge=0, description="requests.nvidia.com/gpu.")
    pods: int = Field(default=50, gt=0)


class BatchQuota(Declaration):
    """The team's Spark namespace (in the platform stack): what its batch jobs may request at
    once. Declared on the team, not summed from its models, so a model's new job changes its
    team's serving stack only; the jobs, all running together, must fit it (validated)."""

    cpu: int = Field(gt=0, description="requests.cpu of the team's batch namespace.")
    memory_gib: int = Field(gt=0)
    pods: int = Field(gt=0)


S3Prefix = Annotated[str, AfterValidator(raising(s3_prefix_problem))]


class TeamData(Declaration):
    """The S3 outside the platform's buckets that the team's models may use. Every path a model
    declares must fall under one of these prefixes: its retraining and evaluation data, S3 drift
    baselines and batch inputs under ``read``, its batch outputs under ``write``. The team's
    permissions boundary (in the platform stack) names these prefixes, not each model's paths,
    so a model declaring a new path under them changes its team's serving stack only."""

    read: tuple[S3Prefix, ...] = ()
    write: tuple[S3Prefix, ...] = ()


class Team(Declaration):
    """A team owns models, a namespace and a budget."""

    name: TeamName
    monthly_budget_usd: Decimal = Field(gt=0)
    quota: TeamQuota = TeamQuota()
    serving_shards: int = Field(
        default=1,
        ge=1,
        le=100,
        description="Serving stacks the team's endpoints and EKS models are dealt to, in layered "
        "mode (infra/layers.py): raise it when a serving stack nears the resource budget; raising "
        "it moves only what the new shard takes (README: state moves).",
    )
    # Subscribed to the team's alert topic (its models' alerts only; never a shared inbox).
    alert_emails: tuple[str, ...] = ()
    data: TeamData = TeamData()
    # Needed by a team whose models declare batch jobs: its Spark namespace's quota.
    batch_quota: BatchQuota | None = None


class NetworkSettings(Settings):
    cidr: VpcCidr = "10.0.0.0/16"
    availability_zones: int = Field(default=2, ge=2, le=3)
    nat_gateway_per_az: bool = False


class NodeGroupSettings(Settings):
    instance_types: tuple[str, ...] = Field(min_length=1)
    min_size: int = Field(default=0, ge=0)
    max_size: int = Field(default=3, ge=1)
    desired_size: int = Field(default=1, ge=0, description="Initial size; the autoscaler owns it.")


class AddonSettings(Settings):
    """Pinned Helm chart versions of the cluster add-ons (upgraded deliberately, never floating)."""

    nvidia_device_plugin: ChartVersion = "0.17.1"
    # 9.59.0: the chart of autoscaler 1.35, which watches DRA objects always ("locked to true");
    # 9.46.6's ClusterRole had no resource.k8s.io grant for the 1.35 image we run.
    cluster_autoscaler: ChartVersion = "9.59.0"
    metrics_server: ChartVersion = "3.12.2"
    # The exporters the AMP scraper reads (components.monitoring); chart versions, not app.
    kube_state_metrics: ChartVersion = "5.25.1"  # kube-state-metrics v2.13
    prometheus_node_exporter: ChartVersion = "4.39.0"  # node_exporter v1.8
    dcgm_exporter: ChartVersion = "3.5.0"  # NVIDIA dcgm-exporter 3.3.7-3.5.0


class ClusterSettings(Settings):
    kubernetes_version: str = "1.35"
    public_access_cidrs: tuple[PublicCidr, ...] = ()
    system_nodes: NodeGroupSettings = NodeGroupSettings(
        instance_types=("m6i.large",), min_size=2, max_size=4, desired_size=2
    )
    gpu_nodes: NodeGroupSettings = NodeGroupSettings(
        instance_types=("g5.xlarge",), min_size=0, max_size=2, desired_size=0
    )
    spot_nodes: NodeGroupSettings = NodeGroupSettings(
        instance_types=("m6i.xlarge", "m6a.xlarge", "m5.xlarge"), min_size=0, max_size=6
    )
    addons: AddonSettings = AddonSettings()
    # Cluster metrics (CPU, memory, pods) for the dashboard, at CloudWatch's per-metric price.
    container_insights: bool = True

    @field_validator("kubernetes_version")
    @classmethod
    def _minor_version(cls, value: str) -> str:
        if not re.fullmatch(r"1\.\d{2}", value):
            raise ValueError(f"{value!r} is not a Kubernetes minor version such as '1.35'")
        return value


class ServingSettings(Settings):
    max_models_per_endpoint: int = Field(default=200, ge=1)
    # Share of an instance's memory that loaded models may fill; the rest is the server's.
    model_memory_fraction: Decimal = Field(default=Decimal("0.7"), gt=0, le=1)
    triton_version: str = "24.09"


class TableCapacity(Settings):
    """Provisioned DynamoDB capacity, scaled by Application Auto Scaling between the bounds."""

    min_read: int = Field(default=5, ge=1)
    max_read: int = Field(default=100, ge=1)
    min_write: int = Field(default=5, ge=1)
    max_write: int = Field(default=100, ge=1)
    target_utilization_percent: int = Field(default=70, ge=20, le=90)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> TableCapacity:
        for kind in ("read", "write"):
            low, high = getattr(self, f"min_{kind}"), getattr(self, f"max_{kind}")
            if low > high:
                raise ValueError(f"min_{kind} ({low}) must be <= max_{kind} ({high})")
        return self


class DataSettings(Settings):
    prediction_shards: int = Field(default=8, ge=1, le=256)
    prediction_ttl_days: int = Field(default=30, ge=1)
    capture_retention_days: int = Field(default=30, ge=1)
    noncurrent_version_days: int = Field(default=30, ge=1)
    # None: on-demand (PAY_PER_REQUEST) tables; set it for provisioned capacity with autoscaling.
    provisioned_capacity: TableCapacity | None = None
    # DynamoDB refuses to delete a protected table: turn this off before destroying a non-prod
    # stack. Prod cannot turn it off (a rule in rules.py).
    table_deletion_protection: bool = True


class BudgetSettings(Settings):
    monthly_budget_usd: Decimal = Field(gt=0)
    alert_emails: tuple[Email, ...] = Field(min_length=1)
    # AWS Budgets: at most ten notifications per budget (one ACTUAL and one FORECASTED per
    # threshold, so five thresholds), each at most 1,000,000% of the budget
    # (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Notification.html).
    thresholds_percent: tuple[Annotated[int, Field(gt=0, le=1_000_000)], ...] = Field(
        default=(80, 100), min_length=1, max_length=5
    )

    @field_validator("thresholds_percent")
    @classmethod
    def _distinct(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"{list(value)} repeats a threshold; AWS refuses a duplicate alert")
        return value


class MonitoringSettings(Settings):
    """``mlplat:monitoring``: Prometheus (AMP) for EKS models, and where dashboards live."""

    # An AMP workspace, its managed scraper, the exporters, the generated rules and the alert
    # manager (components.monitoring). Off: EKS models have no alerts (a policy rule reports it).
    prometheus: bool = True
    # How often the scraper collects every target: ingestion is billed per sample, so this
    # sets the AMP bill (mlplat cost). AMP's managed collector takes intervals of 10s or more.
    scrape_interval_seconds: int = Field(default=30, ge=10, le=300)
    log_retention_days: int = Field(default=30, ge=1)
    # Amazon Managed Grafana with generated dashboards; off keeps the CloudWatch dashboard (an
    # account without IAM Identity Center cannot have a Grafana workspace).
    grafana: bool = False
    # IAM Identity Center group ids given Grafana's Admin and Editor roles (others: none).
    grafana_admin_groups: tuple[str, ...] = ()
    grafana_editor_groups: tuple[str, ...] = ()
    # Expected active users a month, for the licence estimate (`mlplat cost`).
    grafana_editors: int = Field(default=0, ge=0)
    grafana_viewers: int = Field(default=0, ge=0)


class CiSettings(Settings):
    github_repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    branch: Branch = "main"
    # IAM allows one OIDC provider per URL in an account: when stacks share an account, one of
    # them creates GitHub's provider (createGithubOidcProvider, the default) and the others set
    # it to false: they trust the account's provider, whose ARN follows from the account. Naming
    # the provider's ARN (another account's, say) also stops a stack from creating one.
    create_github_oidc_provider: bool = True
    github_oidc_provider_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/"
        r"token\.actions\.githubusercontent\.com$",
    )

    # The CodeConnections connection to GitHub that the deploy runner (components/deploy_runner.py)
    # uses, in the stack's region. None: no runner, and the stack can only be deployed from where
    # its cluster API is reachable.
    deploy_runner_connection_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:"
        r"connection/[0-9a-f-]+$",
    )

    # The S3 bucket of Pulumi's DIY state backend (`pulumi login s3://<bucket>`): each team's
    # deployer may then read and write its own serving stacks' state there. None: another backend
    # (Pulumi Cloud grants stacks to teams itself).
    state_bucket: str | None = Field(default=None, pattern=BUCKET_NAME_ONLY)

    @property
    def creates_github_oidc_provider(self) -> bool:
        return self.create_github_oidc_provider and self.github_oidc_provider_arn is None

    def github_oidc_provider_arn_in(self, account: str) -> str:
        """The provider this stack trusts when another stack created it."""
        return self.github_oidc_provider_arn or (
            f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
        )


class LifecycleSettings(Settings):
    """What the models' drift and retraining pipelines run (infra/declarations/lifecycle.py)."""

    # The image with this repository's lifecycle/ package (drift job); needed once a model
    # declares monitoring. ECR only: SageMaker Processing pulls from ECR.
    image: str | None = None
    # Secrets Manager secret holding the GitHub token the promotion path sends
    # repository_dispatch with (contents:write on the repository); created by a person.
    github_token_secret: str = "mlplat/github-dispatch-token"


class EnvironmentSettings(Settings):
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    account_id: str = Field(
        default="123456789012",
        pattern=r"^\d{12}$",
        description="Used by the offline engine only; the real engine asks STS.",
    )
    network: NetworkSettings = NetworkSettings()
    cluster: ClusterSettings = ClusterSettings()
    serving: ServingSettings = ServingSettings()
    data: DataSettings = DataSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    budget: BudgetSettings
    ci: CiSettings
    routes: RouteSettings = RouteSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    streaming: StreamingSettings = StreamingSettings()  # prediction events on Kafka (off)


class EnvironmentSpec(Declaration):
    """The validated whole: what ``infra/platform.py`` builds for one stack."""

    name: EnvironmentName
    settings: EnvironmentSettings
    teams: tuple[Team, ...] = Field(min_length=1)
    models: tuple[ModelDeclaration, ...] = ()
    # The stack file's named opt-in: it means to serve no models, even where some are deployed.
    serves_no_models: bool = False

    @property
    def is_production(self) -> bool:
        return self.name is EnvironmentName.PROD

    def team(self, name: str) -> Team:
        return next(team for team in self.teams if team.name == name)

    def models_served_by(self, target: str) -> tuple[ModelDeclaration, ...]:
        return tuple(model for model in self.models if model.serving == target)
