"""Every validation rule, good and bad: a bad declaration is refused with its field's path."""

from __future__ import annotations

import pytest

from components.cluster_addons import CLOUDWATCH_NAMESPACE
from infra.declarations import ModelDeclaration, SpecError
from infra.declarations.model import PLATFORM_NAMES
from infra.loader import parse_environment
from lifecycle.monitoring import amp_namespaces, dashboards
from lifecycle.monitoring.scrape_config import MONITORING_NAMESPACE
from tests.foundation.conftest import config_data, model_data, team_data


def parse(stack="dev", teams=None, models=None, config=None):
    return parse_environment(
        stack,
        teams=[team_data()] if teams is None else teams,
        models=[model_data()] if models is None else models,
        config=config_data() if config is None else config,
    )


def problems_of(**kwargs) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        parse(**kwargs)
    return {problem.path: problem.message for problem in caught.value.problems}


def test_a_valid_stack_parses():
    spec = parse()
    assert spec.name == "dev"
    assert spec.models[0].name == "fraud-scorer"
    assert spec.settings.region == "us-east-1"


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"name": "Fraud_Scorer"}, "models[0].name", "DNS-1123"),
        ({"name": "a" * 49}, "models[0].name", "at most 48"),
        ({"name": "-fraud"}, "models[0].name", "DNS-1123"),
        ({"team": "nobody"}, "models[0].team", "unknown team 'nobody'"),
        ({"framework": "caffe"}, "models[0].framework", "unknown framework 'caffe'"),
        ({"framework_version": "9.9"}, "models[0].framework_version", "no sklearn inference image"),
        ({"resources": {"memory_mb": 512, "gpus": 1}}, "models[0].instance_type", "has no GPU"),
        (
            {"instance_type": "ml.g5.xlarge", "resources": {"memory_mb": 512, "gpus": 2}},
            "models[0].resources.gpus",
            "has 1",
        ),
        (
            {"instance_type": "ml.x9.huge"},
            "models[0].instance_type",
            "unknown SageMaker instance type",
        ),
        (
            {"resources": {"memory_mb": 999_999}},
            "models[0].resources.memory_mb",
            "the largest type placement may choose",
        ),
        (
            {"resources": {"memory_mb": 999_999}, "instance_type_mode": "exact"},
            "models[0].resources.memory_mb",
            "does not fit",
        ),
        ({"resources": {"memory_mb": 0}}, "models[0].resources.memory_mb", "greater than 0"),
        (
            {"scaling": {"min_instances": 3, "max_instances": 2}},
            "models[0].scaling.max_instances",
            "must be >= min_instances (3)",
        ),
        (
            {"scaling": {"min_instances": 0, "max_instances": 2}},
            "models[0].scaling.min_instances",
            "greater than or equal to 1",
        ),
        ({"monthly_budget_usd": -5}, "models[0].monthly_budget_usd", "greater than 0"),
        ({"serving": "lambda"}, "models[0].serving", "'sagemaker-mme' or 'eks'"),
        ({"serving": "eks"}, "models[0].instance_type", "applies only to sagemaker-mme"),
        (
            {"data_capture_percent": 101},
            "models[0].data_capture_percent",
            "less than or equal to 100",
        ),
        ({"replicas": 3}, "models[0].replicas", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_model_is_reported_at_its_path(change, path, words):
    problems = problems_of(models=[model_data(**change)])
    assert path in problems, problems
    assert words in problems[path]


def test_a_missing_budget_is_reported():
    data = model_data()
    del data["monthly_budget_usd"]
    assert problems_of(models=[data])["models[0].monthly_budget_usd"] == "Field required"


ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/custom-server:1"


def test_an_explicit_image_skips_framework_resolution():
    spec = parse(models=[model_data(framework="custom", framework_version="x", image=ECR)])
    assert spec.models[0].image == ECR


@pytest.mark.parametrize(
    "image", ["1.dkr.ecr/x:1", "docker.io/library/python:3.11", ECR.replace(":1", ":")]
)
def test_an_endpoint_image_must_be_in_ecr(image):
    problems = problems_of(models=[model_data(framework="custom", image=image)])
    assert "not an ECR image URI" in problems["models[0].image"]


def test_an_eks_image_may_come_from_any_registry():
    eks = model_data(serving="eks", instance_type=None, image="ghcr.io/acme/ranker:2")
    assert parse(models=[eks]).models[0].image == "ghcr.io/acme/ranker:2"


# --- values AWS, Kubernetes or the image catalog would refuse: each boundary, both sides -------


def accepted(**kwargs) -> None:
    parse(**kwargs)  # raises SpecError if refused


def eks_model(**changes) -> dict:
    """Served from its own image: no sidecars, so a pod requests the model's resources only
    (sidecars are counted in tests/foundation/test_pod_requests.py)."""
    return model_data(serving="eks", instance_type=None, image=OWN_IMAGE, **changes)


OWN_IMAGE = "ghcr.io/acme/ranker:2"


def growth(**quota) -> dict:
    return team_data(name="fraud", quota=quota)


@pytest.mark.parametrize(
    ("edge", "past", "path", "words"),
    [
        # IAM role names (64) hold "mlplat-staging-<team>-data-scientist"
        ("a" * 34, "a" * 35, "teams[0].name", "at most 34"),
        # SageMaker model package group "mlplat-<env>-<model>" (63)
        ("m" * 48, "m" * 49, "models[0].name", "at most 48"),
    ],
)
def test_name_lengths(edge, past, path, words):
    if path.startswith("teams"):
        accepted(teams=[team_data(name=edge)], models=[model_data(team=edge)])
        problems = problems_of(teams=[team_data(name=past)], models=[])
    else:
        accepted(models=[model_data(name=edge)])
        problems = problems_of(models=[model_data(name=past)])
    assert words in problems[path]


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-team"])
def test_a_team_cannot_take_a_namespace_kubernetes_reserves(name):
    assert (
        "reserved namespace of Kubernetes"
        in problems_of(teams=[team_data(name=name)], models=[])["teams[0].name"]
    )


@pytest.mark.parametrize("name", sorted(PLATFORM_NAMES))
def test_a_team_cannot_take_a_name_the_platforms_own_namespaces_have(name):
    assert problems_of(teams=[team_data(name=name)], models=[])["teams[0].name"] == (
        f"{name!r} names the platform's own namespace (Kubernetes, AMP rules or Grafana); "
        "choose another name"
    )


def test_no_team_folder_can_take_a_platform_dashboards_uid():
    """A team's Grafana folder uid is mlplat-<env>-<team>, in one uid space with the platform's
    dashboards: each name that would make the same uid is refused (and "platform", the
    platform folder's resource name beside the teams' <name>-<team>)."""
    for board in (dashboards.platform_overview("dev"), dashboards.model_view("dev")):
        team = board["uid"].removeprefix("mlplat-dev-")
        assert dashboards.team_folder_uid("dev", team) == board["uid"]
        assert team in PLATFORM_NAMES
    assert "platform" in PLATFORM_NAMES


@pytest.mark.parametrize(
    ("names", "clash"),
    [
        (["fraud", "fraud-batch"], "'fraud-batch' is team 'fraud''s batch jobs' namespace"),
        (["fraud-batch", "fraud"], "'fraud-batch' is team 'fraud''s batch jobs' namespace"),
        (["ads", "team-ads"], "'team-ads' is team 'ads''s dashboard's uid"),
    ],
)
def test_a_team_cannot_take_a_name_the_platform_derives_from_another_team(names, clash):
    teams = [team_data(name=name) for name in names]
    problems = problems_of(teams=teams, models=[model_data(team=names[0])])
    index = names.index(clash.split("'")[1])
    assert problems[f"teams[{index}].name"].startswith(clash)
    # names that only look alike are accepted
    accepted(
        teams=[team_data(name="fraud"), team_data(name="batch-fraud"), team_data(name="team")],
        models=[model_data(team="fraud")],
    )


def test_the_platforms_namespaces_are_each_reserved_from_teams():
    """A team's Kubernetes namespace and AMP rule namespace are named after the team: the
    platform's own would be duplicated by a team of the same name."""
    platform = {MONITORING_NAMESPACE, CLOUDWATCH_NAMESPACE, amp_namespaces.RECORDING}
    assert platform <= PLATFORM_NAMES
    assert amp_namespaces.namespace_base("dev", "") == amp_namespaces.namespace_base(
        "dev", amp_namespaces.RECORDING
    )
    accepted(teams=[team_data(name="monitor")], models=[model_data(team="monitor")])


def test_description_length_is_sagemakers():
    accepted(models=[model_data(description="d" * 1024)])
    assert "models[0].description" in problems_of(models=[model_data(description="d" * 1025)])


@pytest.mark.parametrize(
    ("edge", "past"),
    [("10.0.0.0/16", "10.0.0.0/15"), ("10.0.0.0/25", "10.0.0.0/26")],
)
def test_vpc_sizes(edge, past):
    accepted(config=config_data(**{"mlplat:network": {"cidr": edge}}))
    problems = problems_of(config=config_data(**{"mlplat:network": {"cidr": past}}))
    assert "a VPC needs an IPv4 block from /16 to /25" in problems["config.network.cidr"]


def test_an_ipv6_vpc_is_refused():
    problems = problems_of(config=config_data(**{"mlplat:network": {"cidr": "fd00::/56"}}))
    assert "IPv4" in problems["config.network.cidr"]


@pytest.mark.parametrize(
    ("thresholds", "words"),
    [
        ([1, 2, 3, 4, 5, 6], "at most 5 items"),
        ([0], "greater than 0"),
        ([1_000_001], "less than or equal to 1000000"),
        ([80, 80], "repeats a threshold"),
        ([], "at least 1 item"),
    ],
)
def test_budget_thresholds_aws_refuses(thresholds, words):
    budget = {"monthlyBudgetUsd": 1000, "alertEmails": ["ops@example.com"]}
    accepted(
        config=config_data(
            **{"mlplat:budget": budget | {"thresholdsPercent": [1, 2, 3, 4, 1_000_000]}}
        )
    )
    problems = problems_of(
        config=config_data(**{"mlplat:budget": budget | {"thresholdsPercent": thresholds}})
    )
    found = {path: message for path, message in problems.items() if "thresholdsPercent" in path}
    assert any(words in message for message in found.values()), problems


def test_kubernetes_versions_eks_has_and_has_not_retired():
    import datetime as dt

    from infra.declarations.rules import kubernetes_version_problem

    # 1.32: standard support to 2026-03-23, extended support 12 months more
    assert kubernetes_version_problem("1.32", dt.date(2027, 3, 23)) is None
    assert "retired" in kubernetes_version_problem("1.32", dt.date(2027, 3, 24))
    assert "no Kubernetes 1.99" in kubernetes_version_problem("1.99", dt.date(2026, 1, 1))
    cluster = {"mlplat:cluster": {"kubernetesVersion": "1.99"}}
    assert "config.cluster.kubernetesVersion" in problems_of(config=config_data(**cluster))


def test_a_region_without_sagemaker_images_is_refused():
    accepted(config=config_data(**{"aws:region": "eu-west-1"}))
    problems = problems_of(config=config_data(**{"aws:region": "us-east-9"}))
    assert "knows no serving images in 'us-east-9'" in problems["config.aws:region"]


def test_a_triton_version_without_an_image_is_refused():
    accepted(config=config_data(**{"mlplat:serving": {"tritonVersion": "24.09"}}))
    problems = problems_of(config=config_data(**{"mlplat:serving": {"tritonVersion": "24.10"}}))
    assert "no SageMaker Triton image '24.10'" in problems["config.serving.tritonVersion"]


@pytest.mark.parametrize("version", ["0.17", "latest", "v0.17.1"])
def test_addon_chart_versions_are_pinned_semver(version):
    addons = {"mlplat:cluster": {"addons": {"metricsServer": version}}}
    assert "config.cluster.addons.metricsServer" in problems_of(config=config_data(**addons))


def test_a_cpu_framework_on_a_gpu_instance_without_gpus_has_no_image():
    """sklearn publishes no GPU image: placement would crash resolving it."""
    problems = problems_of(models=[model_data(instance_type="ml.g5.xlarge")])
    assert "no serving image" in problems["models[0].instance_type"]


# --- EKS models the cluster could never schedule --------------------------------------------


def test_gpus_in_a_team_without_gpu_quota():
    problems = problems_of(models=[eks_model(resources={"memory_mb": 1024, "gpus": 1})])
    assert "the team has no GPU quota" in problems["models[0].resources.gpus"]


@pytest.mark.parametrize(("replicas", "refused"), [(1, False), (2, True)])
def test_replicas_against_the_teams_quota(replicas, refused):
    """A quota of 2 vCPU holds one 1-vCPU replica and the one a rolling update adds."""
    model = eks_model(
        resources={"memory_mb": 1024, "cpu": 1},
        scaling={"min_instances": replicas, "max_instances": 6},
    )
    teams = [growth(cpu=2)]
    if refused:
        problems = problems_of(teams=teams, models=[model])
        assert "more than the quota of team 'fraud' (2 vCPU)" in problems["models[0].resources.cpu"]
    else:
        accepted(teams=teams, models=[model])


def test_the_teams_models_together_against_its_quota():
    models = [eks_model(name=f"m{i}", resources={"memory_mb": 1024, "cpu": 1}) for i in range(3)]
    problems = problems_of(teams=[growth(cpu=4)], models=models)
    assert "request 6 vCPU together" in problems["teams[0].quota.cpu"]


def test_pods_against_the_teams_quota():
    model = eks_model(
        resources={"memory_mb": 128, "cpu": "0.1"}, scaling={"min_instances": 3, "max_instances": 3}
    )
    accepted(teams=[growth(pods=4)], models=[model])
    assert (
        "run 4 pods" in problems_of(teams=[growth(pods=3)], models=[model])["teams[0].quota.pods"]
    )


def test_memory_against_the_largest_node():
    from infra.declarations.scheduling import allocatable

    largest = allocatable("m6i.large")  # the default system nodes; not spot-tolerant
    teams = [growth(memory_gib=64)]
    accepted(teams=teams, models=[eks_model(resources={"memory_mb": largest.memory_mb})])
    problems = problems_of(
        teams=teams, models=[eks_model(resources={"memory_mb": largest.memory_mb + 1})]
    )
    assert "would stay Pending" in problems["models[0].resources"]
    assert "cluster.systemNodes" in problems["models[0].resources"]


def test_spot_tolerant_models_may_use_the_spot_nodes_too():
    from infra.declarations.scheduling import allocatable

    spot = allocatable("m6i.xlarge")
    model = eks_model(resources={"memory_mb": spot.memory_mb}, accepts_spot=True)
    accepted(teams=[growth(memory_gib=64)], models=[model])


def test_more_gpus_than_a_gpu_node_has():
    model = eks_model(resources={"memory_mb": 1024, "gpus": 2})
    problems = problems_of(teams=[growth(gpus=4)], models=[model])
    assert "g5.xlarge" in problems["models[0].resources"]


def test_allocatable_is_below_capacity():
    from infra import catalog
    from infra.declarations.scheduling import allocatable

    for name, instance in catalog.EC2_INSTANCE_TYPES.items():
        node = allocatable(name)
        assert 0 < node.memory_mb < instance.memory_mb and 0 < node.cpu < instance.vcpu


def test_duplicate_models_and_teams_are_reported_with_both_places():
    problems = problems_of(
        teams=[team_data(), team_data()],
        models=[model_data(), model_data(name="other"), model_data()],
    )
    assert "listed twice in the stack's models (entries 1 and 3)" in problems["models[2].name"]
    assert "listed twice in the stack's teams (entries 1 and 2)" in problems["teams[1].name"]


def test_every_problem_is_reported_at_once():
    problems = problems_of(
        models=[
            model_data(scaling={"min_instances": 3, "max_instances": 1}),
            model_data(name="b", team="ghosts"),
            model_data(name="c", framework="caffe"),
        ],
        config=config_data(
            **{"mlplat:budget": {"monthlyBudgetUsd": 0, "alertEmails": ["not-an-email"]}}
        ),
    )
    assert set(problems) >= {
        "models[0].scaling.max_instances",
        "models[1].team",
        "models[2].framework",
        "config.budget.monthlyBudgetUsd",
        "config.budget.alertEmails[0]",
    }


@pytest.mark.parametrize(
    ("section", "path", "words"),
    [
        (
            {"mlplat:cluster": {"spotNodes": {"instanceTypes": ["m5.xlarge", "m6i.xlarge"]}}},
            "config.cluster.spotNodes.instanceTypes",
            "at least three",
        ),
        (
            {"mlplat:cluster": {"gpuNodes": {"instanceTypes": ["m5.xlarge"]}}},
            "config.cluster.gpuNodes.instanceTypes[0]",
            "has no GPU",
        ),
        (
            {
                "mlplat:cluster": {
                    "systemNodes": {
                        "instanceTypes": ["m5.large"],
                        "minSize": 3,
                        "maxSize": 2,
                        "desiredSize": 3,
                    }
                }
            },
            "config.cluster.systemNodes.maxSize",
            "must be >= minSize (3)",
        ),
        ({"mlplat:network": {"cidr": "10.0.0.0/33"}}, "config.network.cidr", "not a CIDR block"),
        (
            {"mlplat:network": {"availabilityZones": 1}},
            "config.network.availabilityZones",
            "greater than or equal to 2",
        ),
        ({"aws:region": "moon-1"}, "config.aws:region", "should match pattern"),
        (
            {"mlplat:ci": {"githubRepository": "no-slash"}},
            "config.ci.githubRepository",
            "should match pattern",
        ),
        (
            {
                "mlplat:ci": {
                    "githubRepository": "example-org/mlplat",
                    "githubOidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/example.com",
                }
            },
            "config.ci.githubOidcProviderArn",
            "should match pattern",
        ),
        ({"mlplat:unknownSetting": 1}, "config.unknownSetting", "Extra inputs are not permitted"),
    ],
)
def test_bad_settings_are_reported_with_their_config_key(section, path, words):
    problems = problems_of(config=config_data(**section))
    assert path in problems, problems
    assert words in problems[path]


@pytest.mark.parametrize(
    ("team", "path"),
    [
        ({"name": "Team A"}, "teams[0].name"),
        ({"monthly_budget_usd": 0}, "teams[0].monthly_budget_usd"),
    ],
)
def test_bad_teams_are_reported(team, path):
    assert path in problems_of(teams=[team_data(**team)], models=[])


def test_an_unknown_environment_is_refused():
    assert "stack" in problems_of(stack="qa")


def test_overrides_merge_into_nested_fields_and_are_validated_with_the_stack():
    base = ModelDeclaration.model_validate(model_data())
    good = parse(models=[base.override(scaling={"max_instances": 5})])
    assert good.models[0].scaling.max_instances == 5
    assert good.models[0].scaling.min_instances == 1  # untouched sibling field
    problems = problems_of(models=[base.override(scaling={"max_instances": 0})])
    assert "models[0].scaling.max_instances" in problems


def test_declarations_are_frozen():
    model = ModelDeclaration.model_validate(model_data())
    with pytest.raises(Exception, match="frozen"):
        model.version = 2  # type: ignore[misc]


def test_an_artifact_path_without_an_mlflow_model_is_reported():
    problems = problems_of(models=[model_data(artifact="model_packages/nope")])
    assert "no MLflow model at model_packages/nope" in problems["models[0].artifact"]


def test_a_shipped_model_directory_is_a_valid_artifact():
    spec = parse(models=[model_data(artifact="model_packages/churn_predictor/mlflow_model")])
    assert spec.models[0].artifact.endswith("mlflow_model")


def test_a_registry_uri_needs_a_tracking_store(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    problems = problems_of(models=[model_data(artifact="models:/fraud-scorer/1")])
    assert "needs MLFLOW_TRACKING_URI" in problems["models[0].artifact"]


def test_a_retrained_model_tar_gz_in_s3_is_a_valid_artifact_and_another_s3_shape_is_not():
    retrained = "s3://mlplat-dev-artifacts/retraining/teams/growth/job/output/model.tar.gz"
    assert parse(models=[model_data(artifact=retrained)]).models[0].artifact == retrained
    problems = problems_of(models=[model_data(artifact="s3://mlplat-dev-artifacts/m/model.pkl")])
    assert "is not a SageMaker model artifact" in problems["models[0].artifact"]


def test_table_deletion_protection_can_be_switched_off_outside_prod_only():
    off = {"mlplat:data": {"tableDeletionProtection": False}}
    assert parse("dev", config=config_data(**off)).settings.data.table_deletion_protection is False
    problems = problems_of(stack="prod", config=config_data(**off))
    assert "must stay true in prod" in problems["config.data.tableDeletionProtection"]
