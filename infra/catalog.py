"""Facts about AWS instance types and serving images that declarations are checked against.

Instance facts are AWS's published specifications (vCPU, memory, GPUs). Serving images are
resolved with the SageMaker SDK's ``image_uris``, which works offline from the SDK's own
configuration files, so an unknown framework or version is caught before anything is deployed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

from sagemaker.core import image_uris

from infra.project import PRICE_SNAPSHOT


@dataclass(frozen=True, kw_only=True)
class InstanceType:
    name: str
    vcpu: int
    memory_gib: float
    gpus: int = 0
    gpu_memory_gib: float = 0.0

    @property
    def memory_mb(self) -> int:
        return int(self.memory_gib * 1024)

    @property
    def has_gpu(self) -> bool:
        return self.gpus > 0


def _types(prefix: str, rows: list[tuple[str, int, float, int, float]]) -> dict[str, InstanceType]:
    return {
        f"{prefix}{size}": InstanceType(
            name=f"{prefix}{size}", vcpu=vcpu, memory_gib=mem, gpus=gpus, gpu_memory_gib=gpu_mem
        )
        for size, vcpu, mem, gpus, gpu_mem in rows
    }


# The families the platform offers; EC2 and SageMaker ("ml." prefix) share their specifications.
_FAMILIES: list[tuple[str, int, float, int, float]] = [
    ("m5.large", 2, 8, 0, 0),
    ("m5.xlarge", 4, 16, 0, 0),
    ("m5.2xlarge", 8, 32, 0, 0),
    ("m5.4xlarge", 16, 64, 0, 0),
    ("m6i.large", 2, 8, 0, 0),
    ("m6i.xlarge", 4, 16, 0, 0),
    ("m6i.2xlarge", 8, 32, 0, 0),
    ("m6a.xlarge", 4, 16, 0, 0),
    ("m7i.xlarge", 4, 16, 0, 0),
    ("c5.large", 2, 4, 0, 0),
    ("c5.xlarge", 4, 8, 0, 0),
    ("c5.2xlarge", 8, 16, 0, 0),
    ("c5.4xlarge", 16, 32, 0, 0),
    ("c6i.xlarge", 4, 8, 0, 0),
    ("c6i.2xlarge", 8, 16, 0, 0),
    ("c6a.xlarge", 4, 8, 0, 0),
    ("c7i.xlarge", 4, 8, 0, 0),
    ("r5.large", 2, 16, 0, 0),
    ("r5.xlarge", 4, 32, 0, 0),
    ("r5.2xlarge", 8, 64, 0, 0),
    ("r6i.xlarge", 4, 32, 0, 0),
    ("t2.medium", 2, 4, 0, 0),
    ("t2.large", 2, 8, 0, 0),
    ("t3.medium", 2, 4, 0, 0),
    ("g4dn.xlarge", 4, 16, 1, 16),
    ("g4dn.2xlarge", 8, 32, 1, 16),
    ("g5.xlarge", 4, 16, 1, 24),
    ("g5.2xlarge", 8, 32, 1, 24),
    ("g5.4xlarge", 16, 64, 1, 24),
    ("g5.12xlarge", 48, 192, 4, 96),
    ("g6.xlarge", 4, 16, 1, 24),
    ("p3.2xlarge", 8, 61, 1, 16),
]

# Families whose instances carry NVMe instance-store volumes, which the instance encrypts in
# hardware: SageMaker refuses a KMS key for them (CreateEndpointConfig's KmsKeyId documentation).
# GPU families g4dn/g5/g6(e)/p3dn/p4d(e)/p5, and the "d" variants of general families (m5d, c6id).
_LOCAL_STORAGE_FAMILY = re.compile(r"^(ml\.)?(g4dn|g5|g6e?|p3dn|p4de?|p5e?|[cmr]\d[a-z]*d)\.")


# The GPU of each NVIDIA instance family (EC2's accelerated computing instance specifications),
# spelt as cluster-autoscaler's AWS provider names GPU types in the `k8s.amazonaws.com/accelerator`
# node label.
_GPU_MODELS = {
    "g4dn": "nvidia-tesla-t4",
    "g5": "nvidia-a10g",
    "g6": "nvidia-l4",
    "g6e": "nvidia-l40s",
    "p3": "nvidia-tesla-v100",
    "p4d": "nvidia-tesla-a100",
    "p5": "nvidia-h100",
}


# The GPU instance types a SageMaker multi-model endpoint runs on (Triton only): every one has a
# single GPU; multi-GPU types (ml.g5.12xlarge) and newer families (ml.g6) are not among them.
# "Supported algorithms, frameworks, and instances for multi-model endpoints", GPU section:
# https://docs.aws.amazon.com/sagemaker/latest/dg/multi-model-support.html
MME_GPU_INSTANCE_TYPES = frozenset(
    {"ml.p2.xlarge", "ml.p3.2xlarge"}
    | {f"ml.g5.{size}" for size in ("xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge")}
    | {f"ml.g4dn.{size}" for size in ("xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge")}
)


# Burstable families spend CPU credits to run above a baseline share of their vCPUs; when the
# credits run low, "CPU utilization is gradually lowered to the baseline level" (EC2 User Guide,
# "Standard mode for burstable performance instances"; T2's default mode), so an endpoint under
# steady load would be throttled. Placement never chooses them; a model may declare one exactly.
_BURSTABLE_FAMILY = re.compile(r"^(ml\.)?t\d[a-z]*\.")


def is_burstable(instance_type: str) -> bool:
    return bool(_BURSTABLE_FAMILY.match(instance_type))


def gpu_model(instance_type: str) -> str | None:
    return _GPU_MODELS.get(instance_type.removeprefix("ml.").split(".", 1)[0])


def has_local_storage(instance_type: str) -> bool:
    return bool(_LOCAL_STORAGE_FAMILY.match(instance_type))


SAGEMAKER_INSTANCE_TYPES: dict[str, InstanceType] = _types("ml.", _FAMILIES)
EC2_INSTANCE_TYPES: dict[str, InstanceType] = _types("", _FAMILIES)

# Frameworks a multi-model endpoint can host on CPU, as image_uris names them. GPU multi-model
# endpoints can only run NVIDIA Triton (an AWS constraint), whatever the model's framework.
FRAMEWORKS: tuple[str, ...] = ("sklearn", "xgboost", "pytorch", "tensorflow")
TRITON_FRAMEWORK = "sagemaker-tritonserver"


class UnknownImage(ValueError):
    """The SageMaker SDK knows no image for this framework, version and instance type."""


@cache
def framework_versions(framework: str) -> tuple[str, ...]:
    """Versions the SageMaker SDK has inference images for (aliases like ``1.2`` included)."""
    config = image_uris.config_for_framework(framework)
    scoped = config.get("inference", config)
    versions = dict(scoped.get("versions", {}))
    versions.update(scoped.get("version_aliases", {}))
    return tuple(sorted(versions))


@cache
def serving_regions() -> frozenset[str]:
    """Regions the SDK has the CPU frameworks' serving images in (every SageMaker region)."""
    regions: set[str] = set()
    for framework in FRAMEWORKS:
        config = image_uris.config_for_framework(framework)
        for spec in config.get("inference", config).get("versions", {}).values():
            regions |= set(spec.get("registries", {}))
    return frozenset(regions)


@cache
def serving_image(framework: str, version: str, region: str, instance_type: str) -> str:
    """The ECR image SageMaker serves this framework version with, resolved offline."""
    return _image(framework, version, region, instance_type, "inference")


@cache
def training_image(framework: str, version: str, region: str, instance_type: str) -> str:
    """The framework's own training image (retraining, components/lifecycle), offline."""
    return _image(framework, version, region, instance_type, "training")


def _image(framework: str, version: str, region: str, instance_type: str, scope: str) -> str:
    try:
        return image_uris.retrieve(
            framework,
            region=region,
            version=version,
            instance_type=instance_type,
            image_scope=scope,
            py_version=_default_py_version(framework, version),
        )
    except (ValueError, KeyError) as error:
        raise UnknownImage(
            f"no {framework} {version} image for {instance_type} in {region}: {error}"
        ) from error


def _default_py_version(framework: str, version: str) -> str | None:
    """image_uris needs a Python version for frameworks that publish several; take the newest."""
    config = image_uris.config_for_framework(framework)
    scoped = config.get("inference", config)
    resolved = scoped.get("version_aliases", {}).get(version, version)
    py_versions = scoped.get("versions", {}).get(resolved, {}).get("py_versions")
    return sorted(py_versions)[-1] if py_versions else None


# --- what placement may choose ----------------------------------------------------------------


@cache
def hosting_prices(region: str) -> dict[str, float]:
    """SageMaker real-time hosting, $ per instance-hour in ``region``, from the price snapshot
    (``infra/prices.json``; its schema is checked by ``cost_model.prices``). Empty when the
    snapshot has no such region."""
    document = json.loads(PRICE_SNAPSHOT.read_text())
    region_prices = document["regions"].get(region, {})
    return dict(region_prices.get("sagemaker_hosting_instance_hour", {}))


def satisfies(candidate: InstanceType, minimum: InstanceType) -> bool:
    """A type at least as large as ``minimum`` in every dimension a model can depend on."""
    return (
        candidate.memory_mb >= minimum.memory_mb
        and candidate.vcpu >= minimum.vcpu
        and candidate.gpus >= minimum.gpus
        and candidate.gpu_memory_gib >= minimum.gpu_memory_gib
    )


# The endpoint instance types reviewed for cost: the policy pack's `sagemaker-instance-type-allowed`
# allows these by default, and placement chooses only among them (so it never places a model where
# the pack would refuse it). Extending it is a cost review: r5.large, r5.2xlarge and c5.large
# would let placement pack small and memory-heavy fleets cheaper (benchmarks/README.md).
APPROVED_ENDPOINT_TYPES: tuple[str, ...] = (
    "ml.m5.large",
    "ml.m5.xlarge",
    "ml.m5.2xlarge",
    "ml.m5.4xlarge",
    "ml.m6i.large",
    "ml.m6i.xlarge",
    "ml.m6i.2xlarge",
    "ml.m7i.xlarge",
    "ml.c5.xlarge",
    "ml.c5.2xlarge",
    "ml.c6i.xlarge",
    "ml.c6i.2xlarge",
    "ml.c7i.xlarge",
    "ml.r5.xlarge",
    "ml.r6i.xlarge",
    "ml.t2.medium",
    "ml.g4dn.xlarge",
    "ml.g4dn.2xlarge",
    "ml.g5.xlarge",
    "ml.g5.2xlarge",
    "ml.g6.xlarge",
)


def mme_instance_types(region: str, *, gpu: bool) -> tuple[InstanceType, ...]:
    """The types placement may choose for a multi-model endpoint in ``region``: approved, priced
    in the snapshot, not burstable, and of the right kind. "Multi-model endpoints support all of
    the CPU instance types"; GPU ones only the types in MME_GPU_INSTANCE_TYPES (same AWS page)."""
    prices = hosting_prices(region)
    return tuple(
        instance
        for name, instance in sorted(SAGEMAKER_INSTANCE_TYPES.items())
        if name in prices
        and name in APPROVED_ENDPOINT_TYPES
        and not is_burstable(name)
        and instance.has_gpu is gpu
        and (not gpu or name in MME_GPU_INSTANCE_TYPES)
    )
