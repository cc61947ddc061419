"""Rules that span fields or declarations. They return problems, never raise: all get reported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from pydantic.alias_generators import to_snake

from infra import catalog
from infra.declarations.batch_capacity import batch_capacity_problems
from infra.declarations.data_access import data_access_problems
from infra.declarations.environment import (
    EnvironmentSettings,
    NodeGroupSettings,
    ServingSettings,
    Team,
)
from infra.declarations.errors import Problem
from infra.declarations.instance_choice import (
    InstanceTypeMode,
    instance_choice_problems,
    share_problem,
)
from infra.declarations.model import (
    BATCH_NAMESPACE,
    ECR_IMAGE,
    TEAM_DASHBOARD,
    ModelDeclaration,
    ServingTarget,
)
from infra.declarations.routes import production_route_problems, route_problems
from infra.eks_support import STANDARD_SUPPORT_ENDS
from model_packages.packaging import source_problem


def model_problems(
    model: ModelDeclaration,
    path: str,
    serving: ServingSettings | None = None,
    region: str | None = None,
) -> Iterator[Problem]:
    """``serving`` and ``region``: the environment's, when they parsed."""
    scaling = model.scaling
    if scaling.max_instances < scaling.min_instances:
        yield Problem(
            f"{path}.scaling.max_instances", f"must be >= min_instances ({scaling.min_instances})"
        )
    yield from _image_problems(model, path)
    artifact = source_problem(model.artifact)
    if artifact:
        yield Problem(f"{path}.artifact", artifact)
    if model.serving is ServingTarget.SAGEMAKER_MME:
        instance_ok = True
        for problem in _instance_problems(model, path, serving):
            instance_ok = instance_ok and not problem.path.endswith(".instance_type")
            yield problem
        if instance_ok and region and serving and not list(_image_problems(model, path)):
            yield from _resolution_problems(model, path, region, serving.triton_version)
        if instance_ok:
            yield from instance_choice_problems(model, path, serving, region)
    else:
        if model.instance_type is not None:
            yield Problem(
                f"{path}.instance_type",
                "applies only to sagemaker-mme models; EKS models are placed by the cluster",
            )
        yield from instance_choice_problems(model, path, serving, region)


def _image_problems(model: ModelDeclaration, path: str) -> Iterator[Problem]:
    if model.image is not None:  # an explicit image is the declarer's responsibility, but
        if model.serving is ServingTarget.SAGEMAKER_MME and not ECR_IMAGE.match(model.image):
            yield Problem(
                f"{path}.image",
                f"{model.image!r} is not an ECR image URI (<account>.dkr.ecr.<region>."
                "amazonaws.com/<repository>:<tag> or @sha256:<digest>), the only registry "
                "SageMaker pulls serving images from here",
            )
        return
    if model.framework not in catalog.FRAMEWORKS:
        yield Problem(
            f"{path}.framework",
            f"unknown framework {model.framework!r}; known: {', '.join(catalog.FRAMEWORKS)} "
            "(or set image explicitly)",
        )
    elif model.framework_version not in catalog.framework_versions(model.framework):
        known = catalog.framework_versions(model.framework)
        yield Problem(
            f"{path}.framework_version",
            f"the SageMaker SDK has no {model.framework} inference image for version "
            f"{model.framework_version!r}; known: {', '.join(known[-6:])} (newest shown)",
        )


def _resolution_problems(
    model: ModelDeclaration, path: str, region: str, triton_version: str
) -> Iterator[Problem]:
    """The image the endpoint would run must exist for this instance type and region: what
    placement resolves, resolved here first so a gap is a message, not a crash."""
    if model.image is not None:
        return
    instance = model.effective_instance_type
    if model.uses_gpu:
        framework, version = catalog.TRITON_FRAMEWORK, triton_version
    else:
        framework, version = model.framework, model.framework_version
    try:
        catalog.serving_image(framework, version, region, instance)
    except catalog.UnknownImage as error:
        yield Problem(
            f"{path}.instance_type" if model.instance_type else f"{path}.framework_version",
            f"the SageMaker SDK has no serving image for it: {error}",
        )


def _instance_problems(
    model: ModelDeclaration, path: str, serving: ServingSettings | None
) -> Iterator[Problem]:
    instance = catalog.SAGEMAKER_INSTANCE_TYPES.get(model.effective_instance_type)
    if instance is None:
        yield Problem(
            f"{path}.instance_type",
            f"unknown SageMaker instance type {model.effective_instance_type!r}; known: "
            f"{', '.join(sorted(catalog.SAGEMAKER_INSTANCE_TYPES))}",
        )
        return
    if model.uses_gpu and not instance.has_gpu:
        yield Problem(
            f"{path}.instance_type",
            f"{instance.name} has no GPU, but resources.gpus is {model.resources.gpus}",
        )
    if instance.has_gpu and instance.name not in catalog.MME_GPU_INSTANCE_TYPES:
        yield Problem(
            f"{path}.instance_type",
            f"SageMaker multi-model endpoints do not run on {instance.name}; their GPU types "
            f"are {', '.join(sorted(catalog.MME_GPU_INSTANCE_TYPES))} (or serve it on eks)",
        )
    if model.resources.gpus > instance.gpus and instance.has_gpu:
        yield Problem(
            f"{path}.resources.gpus",
            f"{model.resources.gpus} GPUs requested; {instance.name} has {instance.gpus}",
        )
    if model.instance_type_mode is not InstanceTypeMode.EXACT:
        return  # a minimum (or no) type: checked against what placement may choose
    if model.resources.memory_mb > instance.memory_mb:
        yield Problem(
            f"{path}.resources.memory_mb",
            f"{model.resources.memory_mb} MB does not fit on {instance.name} "
            f"({instance.memory_mb} MB)",
        )
    elif serving is not None:
        yield from share_problem(
            model,
            path,
            instance,
            serving.model_memory_fraction,
            f"an endpoint on {instance.name}",
            "choose a larger instance_type, or lower memory_mb",
        )


def stack_problems(
    teams: list[Team | None],
    models: list[ModelDeclaration | None],
    invalid_team_names: Iterable[str] = (),
) -> Iterator[Problem]:
    """Rules across declarations; entries that failed to parse are None and are skipped (a
    model of a team that is declared but invalid is not also reported as of an unknown team)."""
    yield from _duplicates([team.name if team else None for team in teams], "teams", "name")
    yield from _derived_name_clashes([team.name if team else None for team in teams])
    yield from _duplicates([model.name if model else None for model in models], "models", "name")
    known = sorted({team.name for team in teams if team} | set(invalid_team_names))
    parsed = {team.name: team for team in teams if team}
    for index, model in enumerate(models):
        if model and model.team not in known:
            yield Problem(
                f"models[{index}].team",
                f"unknown team {model.team!r}; this stack's teams: {', '.join(known) or 'none'}",
            )
        elif model and model.team in parsed:
            yield from data_access_problems(model, f"models[{index}]", parsed[model.team])
    for team_index, team in enumerate(teams):
        if team:
            owned = [(i, m) for i, m in enumerate(models) if m and m.team == team.name]
            yield from batch_capacity_problems(team, f"teams[{team_index}]", owned)


# Names the platform derives from a team's, which another team's own name could equal.
DERIVED_TEAM_NAMES = (
    (BATCH_NAMESPACE, "batch jobs' namespace"),
    (TEAM_DASHBOARD, "dashboard's uid"),
)


def _derived_name_clashes(names: list[str | None]) -> Iterator[Problem]:
    declared = {name: index for index, name in enumerate(names) if name is not None}
    for name in declared:
        for pattern, what in DERIVED_TEAM_NAMES:
            derived = pattern.format(name)
            if derived in declared:
                yield Problem(
                    f"teams[{declared[derived]}].name",
                    f"{derived!r} is team {name!r}'s {what} ({pattern.format('<team>')}); "
                    "choose another name",
                )


def _duplicates(names: list[str | None], collection: str, field: str) -> Iterator[Problem]:
    first_index: dict[str, int] = {}
    for index, name in enumerate(names):
        if name is None:
            continue
        if name in first_index:
            yield Problem(
                f"{collection}[{index}].{field}",
                f"{name!r} is listed twice in the stack's {collection} (entries "
                f"{first_index[name] + 1} and {index + 1}): remove one",
            )
        else:
            first_index[name] = index


def production_problems(settings: EnvironmentSettings, path: str = "config") -> Iterator[Problem]:
    """What prod may not switch off."""
    if not settings.data.table_deletion_protection:
        yield Problem(
            f"{path}.data.tableDeletionProtection",
            "must stay true in prod: its tables are never deleted",
        )
    yield from production_route_problems(settings.routes, path)


def settings_problems(
    settings: EnvironmentSettings, path: str = "config", today: dt.date | None = None
) -> Iterator[Problem]:
    """Paths use the camelCase keys of Pulumi.<env>.yaml, where these settings are written."""
    cluster = settings.cluster
    version = kubernetes_version_problem(cluster.kubernetes_version, today or dt.date.today())
    if version:
        yield Problem(f"{path}.cluster.kubernetesVersion", version)
    if settings.region not in catalog.serving_regions():
        yield Problem(
            f"{path}.aws:region",  # the key the user writes
            f"the SageMaker SDK knows no serving images in {settings.region!r}: "
            "not a SageMaker region (check the spelling)",
        )
    triton = settings.serving.triton_version
    if triton not in catalog.framework_versions(catalog.TRITON_FRAMEWORK):
        known = catalog.framework_versions(catalog.TRITON_FRAMEWORK)
        yield Problem(
            f"{path}.serving.tritonVersion",
            f"no SageMaker Triton image {triton!r}; known: {', '.join(known[-5:])} (newest shown)",
        )
    for role in ("systemNodes", "gpuNodes", "spotNodes"):
        group: NodeGroupSettings = getattr(cluster, to_snake(role))
        yield from _node_group_problems(group, f"{path}.cluster.{role}")
    for index, name in enumerate(cluster.gpu_nodes.instance_types):
        instance = catalog.EC2_INSTANCE_TYPES.get(name)
        if instance is not None and not instance.has_gpu:
            yield Problem(f"{path}.cluster.gpuNodes.instanceTypes[{index}]", f"{name} has no GPU")
    # One node group carries one accelerator label value, which the autoscaler reads.
    models = {catalog.gpu_model(name) for name in cluster.gpu_nodes.instance_types} - {None}
    if len(models) > 1:
        yield Problem(
            f"{path}.cluster.gpuNodes.instanceTypes",
            f"mixes GPU models ({', '.join(sorted(models))}); a node group holds one",
        )
    connection = settings.ci.deploy_runner_connection_arn
    if connection is not None and connection.split(":")[3] != settings.region:
        yield Problem(
            f"{path}.ci.deployRunnerConnectionArn",
            f"is in {connection.split(':')[3]}; CodeBuild uses connections of its own region "
            f"({settings.region})",
        )
    yield from route_problems(settings.routes, settings.region, path)
    if len(set(cluster.spot_nodes.instance_types)) < 3:
        yield Problem(
            f"{path}.cluster.spotNodes.instanceTypes",
            "spot capacity needs at least three interchangeable instance types",
        )


def _node_group_problems(group: NodeGroupSettings, path: str) -> Iterator[Problem]:
    if group.max_size < group.min_size:
        yield Problem(f"{path}.maxSize", f"must be >= minSize ({group.min_size})")
    if not group.min_size <= group.desired_size <= group.max_size:
        yield Problem(
            f"{path}.desiredSize",
            f"must be between minSize ({group.min_size}) and maxSize ({group.max_size})",
        )
    for index, name in enumerate(group.instance_types):
        if name not in catalog.EC2_INSTANCE_TYPES:
            yield Problem(f"{path}.instanceTypes[{index}]", f"unknown EC2 instance type {name!r}")


def kubernetes_version_problem(version: str, today: dt.date) -> str | None:
    """EKS creates clusters only on versions it has released and not yet retired: standard
    support, then 12 months of extended support (eks_support.py, from the EKS version page)."""
    ends = STANDARD_SUPPORT_ENDS.get(version)
    known = ", ".join(sorted(STANDARD_SUPPORT_ENDS, key=lambda v: tuple(map(int, v.split(".")))))
    if ends is None:
        return (
            f"EKS has no Kubernetes {version} in this table (known: {known}); if EKS released "
            "it since, add it to infra/eks_support.py"
        )
    retired = ends.replace(year=ends.year + 1)
    if today > retired:
        return f"EKS retired Kubernetes {version} on {retired} (end of extended support)"
    return None
