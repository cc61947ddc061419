"""The rules that span a stack's settings and a model's fields (infra/declarations/rules.py), in
full: each refusal's path and whole message, the value on each side of every boundary, and the
checks that must not run when an earlier one failed (no second message for one mistake)."""

from __future__ import annotations

import datetime as dt

import pytest

from infra import catalog, eks_support
from infra.declarations import ModelDeclaration, SpecError
from infra.declarations import rules as rules_module
from infra.declarations.environment import ClusterSettings
from infra.declarations.errors import Problem
from infra.declarations.rules import kubernetes_version_problem, settings_problems
from infra.loader import parse_environment
from tests.foundation.conftest import config_data, model_data, team_data

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/scorer:1.0"


def _problems(models=None, **config_sections) -> list[Problem]:
    """Every problem of a stack (one team, the given models), in the order the loader finds."""
    try:
        parse_environment(
            "dev",
            teams=[team_data()],
            models=[model_data()] if models is None else models,
            config=config_data(**config_sections),
        )
    except SpecError as error:
        return error.problems
    return []


def _under(prefix: str, problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in problems if p.path.startswith(prefix)]


def _valid_settings():
    return parse_environment(
        "dev", teams=[team_data()], models=[model_data()], config=config_data()
    ).settings


# --- Kubernetes versions ----------------------------------------------------------------------


@pytest.mark.parametrize("version", sorted(eks_support.STANDARD_SUPPORT_ENDS))
def test_a_kubernetes_version_is_accepted_through_its_last_day_of_extended_support(version):
    """EKS extended support lasts 12 months after standard support ends: the last day of it is
    still accepted, the next day is not."""
    ends = eks_support.STANDARD_SUPPORT_ENDS[version]
    last_day = dt.date(ends.year + 1, ends.month, ends.day)
    assert kubernetes_version_problem(version, last_day) is None
    assert kubernetes_version_problem(version, ends) is None
    assert kubernetes_version_problem(version, last_day + dt.timedelta(days=1)) == (
        f"EKS retired Kubernetes {version} on {last_day.isoformat()} (end of extended support)"
    )


def test_an_unknown_kubernetes_version_lists_the_known_ones_in_version_order(monkeypatch):
    """1.9 before 1.10, as versions sort (not as text), and the advice to extend the table."""
    table = {"1.10": dt.date(2020, 1, 1), "1.9": dt.date(2019, 1, 1), "1.100": dt.date(2030, 1, 1)}
    monkeypatch.setattr(rules_module, "STANDARD_SUPPORT_ENDS", table)
    assert kubernetes_version_problem("1.11", dt.date(2026, 1, 1)) == (
        "EKS has no Kubernetes 1.11 in this table (known: 1.9, 1.10, 1.100); if EKS released "
        "it since, add it to infra/eks_support.py"
    )


def test_the_settings_are_judged_on_the_day_given_and_named_at_their_config_key():
    settings = _valid_settings()
    version = settings.cluster.kubernetes_version
    ends = eks_support.STANDARD_SUPPORT_ENDS[version]
    retired = dt.date(ends.year + 1, ends.month, ends.day)
    assert list(settings_problems(settings, today=retired)) == []
    assert list(settings_problems(settings, today=retired + dt.timedelta(days=1))) == [
        Problem(
            "config.cluster.kubernetesVersion",
            f"EKS retired Kubernetes {version} on {retired.isoformat()} (end of extended support)",
        )
    ]
    # without a day: today's, on which the default version is supported
    assert list(settings_problems(settings)) == []


def test_an_unknown_kubernetes_version_in_the_config_is_named_there():
    problems = _problems(**{"mlplat:cluster": {"kubernetesVersion": "1.99"}})
    assert _under("config.", problems) == [
        ("config.cluster.kubernetesVersion", kubernetes_version_problem("1.99", dt.date.today()))
    ]


# --- region and Triton ------------------------------------------------------------------------


def test_a_region_without_sagemaker_images_is_refused_saying_so():
    problems = _problems(**{"aws:region": "us-east-9"})
    assert _under("config.", problems) == [
        (
            "config.aws:region",
            "the SageMaker SDK knows no serving images in 'us-east-9': not a SageMaker region "
            "(check the spelling)",
        )
    ]


def test_a_triton_version_without_an_image_lists_the_five_newest():
    known = catalog.framework_versions(catalog.TRITON_FRAMEWORK)
    assert len(known) > 5  # so that "the five newest" leaves some out
    problems = _problems(**{"mlplat:serving": {"tritonVersion": "24.10"}})
    assert _under("config.", problems) == [
        (
            "config.serving.tritonVersion",
            f"no SageMaker Triton image '24.10'; known: {', '.join(known[len(known) - 5 :])} "
            "(newest shown)",
        )
    ]
    assert _problems(**{"mlplat:serving": {"tritonVersion": known[0]}}) == []


# --- node groups ------------------------------------------------------------------------------

DEFAULT_TYPES = {
    "systemNodes": list(ClusterSettings().system_nodes.instance_types),
    "gpuNodes": list(ClusterSettings().gpu_nodes.instance_types),
    "spotNodes": list(ClusterSettings().spot_nodes.instance_types),
}


@pytest.mark.parametrize("role", sorted(DEFAULT_TYPES))
def test_each_node_group_has_its_sizes_and_types_checked_at_its_own_key(role):
    group = {
        "instanceTypes": [*DEFAULT_TYPES[role], "m99.huge"],
        "minSize": 3,
        "maxSize": 2,
        "desiredSize": 1,
    }
    problems = _problems(**{"mlplat:cluster": {role: group}})
    index = len(DEFAULT_TYPES[role])
    assert _under("config.", problems) == [
        (f"config.cluster.{role}.maxSize", "must be >= minSize (3)"),
        (f"config.cluster.{role}.desiredSize", "must be between minSize (3) and maxSize (2)"),
        (f"config.cluster.{role}.instanceTypes[{index}]", "unknown EC2 instance type 'm99.huge'"),
    ]


@pytest.mark.parametrize("role", sorted(DEFAULT_TYPES))
@pytest.mark.parametrize(("low", "desired", "high"), [(1, 1, 1), (0, 0, 1), (1, 2, 2)])
def test_each_node_group_accepts_sizes_at_their_bounds(role, low, desired, high):
    group = {"instanceTypes": DEFAULT_TYPES[role], "minSize": low, "maxSize": high}
    problems = _problems(**{"mlplat:cluster": {role: group | {"desiredSize": desired}}})
    assert _under("config.", problems) == []


def test_a_gpu_node_type_without_a_gpu_is_named_at_its_index_and_only_once():
    """A CPU type among GPU types is one mistake: not also a mix of GPU models."""
    group = {"instanceTypes": ["g5.xlarge", "m5.xlarge"]}
    problems = _problems(**{"mlplat:cluster": {"gpuNodes": group}})
    assert _under("config.", problems) == [
        ("config.cluster.gpuNodes.instanceTypes[1]", "m5.xlarge has no GPU")
    ]


def test_an_unknown_gpu_node_type_is_unknown_not_gpu_less():
    problems = _problems(**{"mlplat:cluster": {"gpuNodes": {"instanceTypes": ["g5.xlarge", "x"]}}})
    assert _under("config.", problems) == [
        ("config.cluster.gpuNodes.instanceTypes[1]", "unknown EC2 instance type 'x'")
    ]


def test_gpu_nodes_may_have_several_sizes_of_one_gpu_model_but_not_two_models():
    one_model = {"instanceTypes": ["g5.xlarge", "g5.2xlarge", "g5.12xlarge"]}
    assert _problems(**{"mlplat:cluster": {"gpuNodes": one_model}}) == []
    two = {"instanceTypes": ["g5.xlarge", "g4dn.xlarge", "g5.2xlarge"]}
    problems = _problems(**{"mlplat:cluster": {"gpuNodes": two}})
    models = sorted({catalog.gpu_model(name) for name in two["instanceTypes"]})
    assert _under("config.", problems) == [
        (
            "config.cluster.gpuNodes.instanceTypes",
            f"mixes GPU models ({', '.join(models)}); a node group holds one",
        )
    ]
    assert len(models) == 2 and ", " in ", ".join(models)


@pytest.mark.parametrize(
    ("types", "refused"),
    [
        (["m6i.xlarge", "m6a.xlarge", "m5.xlarge"], False),
        (["m6i.xlarge", "m6a.xlarge", "m5.xlarge", "m7i.xlarge"], False),
        (["m6i.xlarge", "m6a.xlarge"], True),
        (["m6i.xlarge", "m6a.xlarge", "m6a.xlarge"], True),
    ],
)
def test_spot_nodes_need_three_distinct_types(types, refused):
    problems = _problems(**{"mlplat:cluster": {"spotNodes": {"instanceTypes": types}}})
    expected = (
        "config.cluster.spotNodes.instanceTypes",
        "spot capacity needs at least three interchangeable instance types",
    )
    assert _under("config.", problems) == ([expected] if refused else [])


# --- the CI runner's connection ---------------------------------------------------------------

CONNECTION = "arn:aws:codeconnections:{region}:123456789012:connection/0a1b2c3d-4e5f"


def test_the_deploy_runner_connection_must_be_in_the_stacks_region():
    def ci(region: str) -> dict:
        return {
            "mlplat:ci": {
                "githubRepository": "example-org/mlplat",
                "deployRunnerConnectionArn": CONNECTION.format(region=region),
            }
        }

    assert _problems(**ci("us-east-1")) == []
    assert _under("config.", _problems(**ci("eu-west-1"))) == [
        (
            "config.ci.deployRunnerConnectionArn",
            "is in eu-west-1; CodeBuild uses connections of its own region (us-east-1)",
        )
    ]


# --- a model's own rules ----------------------------------------------------------------------


def _model(**changes) -> list[tuple[str, str]]:
    return _under("models[0]", _problems([model_data(**changes)]))


def test_max_instances_below_min_instances_names_the_minimum():
    assert _model(scaling={"min_instances": 3, "max_instances": 2}) == [
        ("models[0].scaling.max_instances", "must be >= min_instances (3)")
    ]
    assert _model(scaling={"min_instances": 3, "max_instances": 3}) == []


def test_an_unknown_framework_lists_the_known_ones_and_nothing_else():
    """No image can be resolved for it either: one problem, not a second about its version."""
    assert _model(framework="caffe") == [
        (
            "models[0].framework",
            f"unknown framework 'caffe'; known: {', '.join(catalog.FRAMEWORKS)} "
            "(or set image explicitly)",
        )
    ]
    assert len(catalog.FRAMEWORKS) > 1


def test_an_unknown_framework_version_lists_the_six_newest_and_nothing_else():
    known = catalog.framework_versions("sklearn")
    assert len(known) >= 6
    assert _model(framework_version="9.9") == [
        (
            "models[0].framework_version",
            "the SageMaker SDK has no sklearn inference image for version '9.9'; known: "
            f"{', '.join(known[len(known) - 6 :])} (newest shown)",
        )
    ]
    # A framework with more versions than are shown, so that the slice leaves some out.
    many = catalog.framework_versions("pytorch")
    message = dict(_model(framework="pytorch", framework_version="9.9"))[
        "models[0].framework_version"
    ]
    assert message.endswith(f"known: {', '.join(many[len(many) - 6 :])} (newest shown)")


def test_an_endpoint_image_outside_ecr_is_refused_saying_where_images_come_from():
    assert _model(image="docker.io/library/scorer:1.0") == [
        (
            "models[0].image",
            "'docker.io/library/scorer:1.0' is not an ECR image URI (<account>.dkr.ecr.<region>."
            "amazonaws.com/<repository>:<tag> or @sha256:<digest>), the only registry SageMaker "
            "pulls serving images from here",
        )
    ]


def test_an_explicit_image_is_not_checked_against_the_framework_catalog():
    """The image is the declarer's: its framework and version are not looked up."""
    assert _model(image=ECR, framework="caffe", framework_version="9.9") == []


def test_an_eks_model_names_the_instance_type_it_may_not_have():
    model = model_data(serving="eks", instance_type="ml.m5.xlarge")
    assert _under("models[0]", _problems([model])) == [
        (
            "models[0].instance_type",
            "applies only to sagemaker-mme models; EKS models are placed by the cluster",
        )
    ]


def test_an_unknown_instance_type_is_one_problem_not_also_an_image_or_a_size():
    known = ", ".join(sorted(catalog.SAGEMAKER_INSTANCE_TYPES))
    assert _model(instance_type="ml.m99.huge", resources={"memory_mb": 10**6}) == [
        (
            "models[0].instance_type",
            f"unknown SageMaker instance type 'ml.m99.huge'; known: {known}",
        )
    ]


def test_a_gpu_model_on_a_cpu_type_is_one_problem_at_the_type():
    model = model_data(framework="pytorch", framework_version="2.1", resources={"memory_mb": 512})
    model["resources"]["gpus"] = 1
    assert _under("models[0]", _problems([model])) == [
        ("models[0].instance_type", "ml.m5.xlarge has no GPU, but resources.gpus is 1")
    ]


def test_a_size_problem_does_not_stop_the_image_check():
    """sklearn publishes no GPU image: on a GPU type, exactly, that is named as well as the
    model outgrowing the type."""
    assert _model(
        instance_type="ml.g5.xlarge", instance_type_mode="exact", resources={"memory_mb": 20000}
    ) == [
        ("models[0].resources.memory_mb", "20000 MB does not fit on ml.g5.xlarge (16384 MB)"),
        (
            "models[0].instance_type",
            "the SageMaker SDK has no serving image for it: "
            + _unknown_image("sklearn", "1.2-1", "us-east-1", "ml.g5.xlarge"),
        ),
    ]


def _unknown_image(framework: str, version: str, region: str, instance: str) -> str:
    with pytest.raises(catalog.UnknownImage) as caught:
        catalog.serving_image(framework, version, region, instance)
    return str(caught.value)


def test_a_model_is_not_resolved_against_a_region_that_did_not_parse():
    """With no region (the config is invalid) no image can be looked up: the model's own
    fields are still checked, and the region is reported once, at its key."""
    problems = _problems(
        [model_data(instance_type="ml.g5.xlarge"), model_data(name="b", framework="caffe")],
        **{"aws:region": "moon-1"},
    )
    assert [p.path for p in problems if p.path.startswith("models")] == ["models[1].framework"]
    assert "config.aws:region" in {p.path for p in problems}


@pytest.mark.parametrize(("framework", "version"), [("pytorch", "2.1"), ("sklearn", "1.2-1")])
def test_a_gpu_type_multi_model_endpoints_do_not_run_on_lists_those_they_do(framework, version):
    """Only that: not also whether an image exists for a type the model cannot have (sklearn
    has no GPU image at all)."""
    gpu_types = sorted(catalog.MME_GPU_INSTANCE_TYPES)
    assert len(gpu_types) > 1
    model = model_data(
        framework=framework, framework_version=version, instance_type="ml.g5.12xlarge"
    )
    assert _under("models[0]", _problems([model])) == [
        (
            "models[0].instance_type",
            "SageMaker multi-model endpoints do not run on ml.g5.12xlarge; their GPU types are "
            f"{', '.join(gpu_types)} (or serve it on eks)",
        )
    ]


@pytest.mark.parametrize(("memory", "refused"), [(11468, False), (11469, True)])
def test_an_exact_type_holds_a_model_up_to_its_share_of_memory(memory, refused):
    """ml.m5.xlarge's 16,384 MB at the default modelMemoryFraction 0.7: 11,468 MB for models."""
    problems = _model(resources={"memory_mb": memory}, instance_type_mode="exact")
    expected = (
        "models[0].resources.memory_mb",
        f"{memory} MB is more than the 11468 MB an endpoint on ml.m5.xlarge leaves to models "
        "(serving.modelMemoryFraction 0.7 of 16384 MB): choose a larger instance_type, or "
        "lower memory_mb",
    )
    assert problems == ([expected] if refused else [])


@pytest.mark.parametrize(
    ("instance_type", "path"), [(None, "framework_version"), ("ml.m5.xlarge", "instance_type")]
)
def test_a_framework_version_without_an_image_in_the_region_is_named(instance_type, path):
    """pytorch 1.0 has no SageMaker CPU image in ca-west-1 (its newest version has): named at
    the declared instance type, or at the version when placement chooses the type (ca-west-1
    offers placement no CPU type either, which is said as well, as for the newest version)."""
    region = {"aws:region": "ca-west-1"}
    newest = model_data(framework="pytorch", framework_version="2.6", instance_type=instance_type)
    others = _under("models", _problems([newest], **region))
    model = newest | {"framework_version": "1.0"}
    instance = ModelDeclaration.model_validate(model).effective_instance_type
    missing = _unknown_image("pytorch", "1.0", "ca-west-1", instance)
    assert _under("models", _problems([model], **region)) == [
        (f"models[0].{path}", f"the SageMaker SDK has no serving image for it: {missing}"),
        *others,
    ]


def test_a_gpu_model_is_resolved_against_the_configured_triton_version():
    """Triton 24.09 has no image in ap-southeast-5 (newer ones have): a GPU model there is
    refused while the environment configures 24.09, and served once it configures 25.04."""
    model = model_data(
        framework="pytorch",
        framework_version="2.1",
        instance_type="ml.g5.xlarge",
        resources={"memory_mb": 512, "gpus": 1},
    )
    region = {"aws:region": "ap-southeast-5"}
    missing = _unknown_image(catalog.TRITON_FRAMEWORK, "24.09", "ap-southeast-5", "ml.g5.xlarge")
    old = _problems([model], **region, **{"mlplat:serving": {"tritonVersion": "24.09"}})
    assert _under("models", old) == [
        ("models[0].instance_type", f"the SageMaker SDK has no serving image for it: {missing}")
    ]
    new = _problems([model], **region, **{"mlplat:serving": {"tritonVersion": "25.04"}})
    assert _under("models", new) == []


def test_a_model_of_an_unknown_team_lists_the_stacks_teams():
    teams = [team_data(name="growth"), team_data(name="fraud")]
    with pytest.raises(SpecError) as caught:
        parse_environment(
            "dev", teams=teams, models=[model_data(team="ghosts")], config=config_data()
        )
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("models[0].team", "unknown team 'ghosts'; this stack's teams: fraud, growth")
    ]


def test_an_eks_model_may_not_ask_for_an_exact_instance_type():
    model = model_data(serving="eks", instance_type=None, instance_type_mode="exact")
    assert _under("models[0]", _problems([model])) == [
        ("models[0].instance_type_mode", "applies only to sagemaker-mme models")
    ]
