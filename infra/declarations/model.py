"""How a model is declared: one typed, frozen value per model, written in model_packages/<name>/."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from infra.declarations.instance_choice import INSTANCE_TYPE_MODE_FIELD, InstanceTypeMode
from infra.declarations.objectives import ServiceObjectives
from infra.names import DNS_1123_LABEL, MODEL_NAME_MAX  # noqa: F401 (re-exported)
from infra.project import PROJECT_ROOT

_PACKAGE = Path(__file__).resolve().parent


def _check_dns_label(value: str, max_length: int) -> str:
    if len(value) > max_length:
        raise ValueError(f"{value!r} is {len(value)} characters; at most {max_length} allowed")
    if not DNS_1123_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label (lowercase letters, digits and '-', "
            "starting and ending with a letter or digit), as Kubernetes and SageMaker require"
        )
    return value


def dns_label(max_length: int):
    # A module-level function rather than a closure built at import: mutmut (benchmarks/
    # mutation.py) can then switch its mutants while the tests run.
    return AfterValidator(partial(_check_dns_label, max_length=max_length))


# A team name is a Kubernetes namespace and part of IAM role names, the longest being
# "mlplat-staging-<team>-data-scientist": IAM allows 64 characters, which leaves 34.
TEAM_NAME_MAX = 34
# Namespaces Kubernetes itself owns: a team there would take over (or be refused by) the cluster.
RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


# Names the platform's own objects take where a team's name goes: the Kubernetes namespaces
# of the exporters (lifecycle.monitoring.scrape_config.MONITORING_NAMESPACE) and of the
# CloudWatch add-on (components.cluster_addons.CLOUDWATCH_NAMESPACE), where a team's namespace
# of the same name would be a second Namespace object; and the AMP rule namespace of the
# recording rules, mlplat-<env>-recording (lifecycle.monitoring.amp_namespaces), which a team's
# would duplicate (AMP refuses the second) and whose deployer could rewrite.
# Grafana (components/grafana.py, lifecycle/monitoring/dashboards.py): a team's folder is
# `<name>-<team>` beside the platform's `<name>-platform`, and its uid `mlplat-<env>-<team>`
# shares Grafana's one uid space with the platform dashboards `mlplat-<env>-overview` and
# `mlplat-<env>-model`.
PLATFORM_NAMES = frozenset(
    {"monitoring", "amazon-cloudwatch", "recording", "platform", "overview", "model"}
)
# Names the platform derives from a team's own, which another team's name could equal: its Spark
# namespace (components/batch_tenancy.py) and its Grafana dashboard's uid suffix, in one uid
# space with the folder uid `mlplat-<env>-<team>` (lifecycle/monitoring/dashboards.py).
BATCH_NAMESPACE = "{}-batch"
TEAM_DASHBOARD = "team-{}"


def _not_reserved(value: str) -> str:
    if value in RESERVED_NAMESPACES or value.startswith("kube-"):
        raise ValueError(f"{value!r} is a reserved namespace of Kubernetes; choose another name")
    if value in PLATFORM_NAMES:
        raise ValueError(
            f"{value!r} names the platform's own namespace (Kubernetes, AMP rules or Grafana); "
            "choose another name"
        )
    return value


ModelName = Annotated[str, dns_label(MODEL_NAME_MAX)]
TeamName = Annotated[str, dns_label(TEAM_NAME_MAX), AfterValidator(_not_reserved)]
# SageMaker pulls serving images from ECR only (CreateModel's Image: "Amazon ECR path", or a
# private registry reached through RepositoryAccessMode=Vpc, which the platform does not set).
# (An EKS model's image may come from any registry the nodes reach.)
ECR_IMAGE = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9][a-z0-9._/-]*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$"
)


# While the loader imports a stack file (and the model packages it imports), a declaration built
# in Python that is invalid does not raise: it keeps its input, and the loader validates it with
# the rest of the stack, so every problem is reported at once instead of the first one only.
_collecting: ContextVar[bool] = ContextVar("collecting_declarations", default=False)


@contextmanager
def collecting_declarations() -> Iterator[None]:
    token = _collecting.set(True)
    try:
        yield
    finally:
        _collecting.reset(token)


def written_outside(filename: str, folder: Path) -> bool:
    """Whether code in `filename` is the user's: not in `folder`, nor the interpreter's or an
    installed library's."""
    path = Path(filename).resolve()
    inside = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)} | {folder}
    return not any(path.is_relative_to(place) for place in inside)


def caller_origin() -> str:
    """``file:line`` of the code that built a declaration, relative to the project when inside.

    That is the first caller outside this package and outside libraries, however many frames a
    decorator or wrapper (mutmut's trampolines, say) puts in between."""
    frame = sys._getframe(1)
    while frame.f_back is not None and not written_outside(frame.f_code.co_filename, _PACKAGE):
        frame = frame.f_back
    path = Path(frame.f_code.co_filename).resolve()
    shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
    return f"{shown}:{frame.f_lineno}"


class Declaration(BaseModel):
    """Base of every declaration: immutable, and a misspelt field is an error, not a no-op."""

    # pydantic's default regex engine (Rust's regex crate: `$` is the end of the text). A field
    # whose pattern needs look-ahead gives a compiled pattern, which pydantic runs with Python's
    # `re` for that field alone, and ends it with \Z (Python's `$` also matches before a final
    # newline).
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Where it was written (``file:line``), when built by calling the class; and, when that input
    # was invalid (only while collecting), the input as written.
    _origin: str | None = PrivateAttr(default=None)
    _invalid_input: dict[str, Any] | None = PrivateAttr(default=None)

    def __init__(self, /, **data: Any) -> None:
        origin = caller_origin()
        try:
            super().__init__(**data)
        except ValidationError:
            if not _collecting.get():
                raise
            # Invalid, kept as written: the loader reports it (see collecting_declarations).
            object.__setattr__(self, "__dict__", dict(data))
            object.__setattr__(self, "__pydantic_fields_set__", set(data))
            object.__setattr__(self, "__pydantic_extra__", None)
            object.__setattr__(self, "__pydantic_private__", {"_invalid_input": data})
        self._origin = origin

    @property
    def origin(self) -> str | None:
        return self._origin

    def as_input(self) -> dict[str, Any]:
        """Its fields (as written, if invalid), nested declarations too, for the loader."""
        fields = self._invalid_input if self._invalid_input is not None else self.__dict__
        return {key: _as_input(value) for key, value in fields.items()}


def _as_input(value: Any) -> Any:
    if isinstance(value, Declaration):
        return value.as_input()
    if isinstance(value, dict):
        return {key: _as_input(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_as_input(item) for item in value]
    return value


class ServingTarget(StrEnum):
    SAGEMAKER_MME = "sagemaker-mme"
    EKS = "eks"


class Resources(Declaration):
    memory_mb: int = Field(gt=0, description="Memory one loaded copy of the model needs.")
    gpus: int = Field(default=0, ge=0, le=8, description="GPUs one replica needs; 0 for CPU.")
    cpu: Decimal = Field(default=Decimal("1"), gt=0, description="vCPU requested per EKS replica.")


class Scaling(Declaration):
    min_instances: int = Field(ge=1, description="Instances (MME) or replicas (EKS) kept running.")
    max_instances: int = Field(ge=1, description="Upper bound the autoscaler may reach.")
    target_invocations_per_instance: int = Field(
        default=1000,
        gt=0,
        description="MME target tracking: invocations per instance per minute.",
    )
    target_cpu_percent: int = Field(
        default=70, gt=0, le=100, description="EKS HorizontalPodAutoscaler CPU target."
    )


# After Declaration and ECR_IMAGE, which the lifecycle declarations build on.
from infra.declarations.lifecycle import Monitoring, Retraining  # noqa: E402


class ModelDeclaration(Declaration):
    """A model the platform serves. Cross-field rules are in ``rules.py``; the loader runs them."""

    name: ModelName
    version: int = Field(ge=1)
    team: TeamName
    description: str = Field(
        default="", max_length=1024, description="The model package group's (SageMaker: 1024)."
    )
    framework: str
    framework_version: str
    image: str | None = Field(
        default=None,
        description="Explicit serving image (ECR for SageMaker); else resolved with image_uris.",
    )
    artifact: str = Field(
        min_length=1,
        description="MLflow model URI (models:/name/3, runs:/id/path) or an MLflow model path.",
    )
    serving: ServingTarget
    instance_type: str | None = Field(
        default=None,
        description="SageMaker instance type: a minimum or an exact type (instance_type_mode); "
        "placement chooses the cheapest that fits when it is a minimum or absent.",
    )
    instance_type_mode: InstanceTypeMode = INSTANCE_TYPE_MODE_FIELD
    resources: Resources
    scaling: Scaling
    accepts_spot: bool = Field(
        default=False, description="EKS: may run on interruptible spot nodes."
    )
    data_capture_percent: int = Field(default=10, ge=0, le=100)
    monthly_budget_usd: Decimal = Field(gt=0)
    monitoring: Monitoring | None = None
    retraining: Retraining | None = None
    objectives: ServiceObjectives = Field(default_factory=ServiceObjectives)
    batch: tuple[BatchJob, ...] = Field(default=(), description="Batch scoring jobs (batch.py).")
    events: PredictionEvents | None = None  # prediction events on Kafka, EKS only (events.py)

    @property
    def uses_gpu(self) -> bool:
        return self.resources.gpus > 0

    @property
    def effective_instance_type(self) -> str:
        if self.instance_type:
            return self.instance_type
        return "ml.g5.xlarge" if self.uses_gpu else "ml.m5.xlarge"

    def override(self, **changes: Any) -> ModelOverride:
        """This model with some fields changed for one environment, validated with the stack."""
        return ModelOverride(base=self, changes=changes, origin=caller_origin())


@dataclass(frozen=True)
class ModelOverride:
    """A declared model plus per-environment changes (nested dicts merge into nested fields)."""

    base: ModelDeclaration
    changes: dict[str, Any] = field(default_factory=dict)
    origin: str | None = None  # where the override is written (the stack file)

    def as_data(self) -> dict[str, Any]:
        return deep_merge(self.base.as_input(), _as_input(self.changes))


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Per-model sections live in their own modules, which build on Declaration above: imported last,
# so the annotations on ModelDeclaration resolve (pydantic completes the class on first use).
from infra.declarations.batch import BatchJob  # noqa: E402
from infra.declarations.events import PredictionEvents  # noqa: E402
