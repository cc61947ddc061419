"""Every validation rule, good and bad: a bad declaration is refused with its field's path."""

from __future__ import annotations

import pytest

from infra.declarations import ModelDeclaration, SpecError
from infra.loader import parse_environment
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
        ({"resources": {"memory_mb": 999_999}}, "models[0].resources.memory_mb", "does not fit"),
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


def test_an_explicit_image_skips_framework_resolution():
    spec = parse(
        models=[model_data(framework="custom", framework_version="x", image="1.dkr.ecr/x:1")]
    )
    assert spec.models[0].image == "1.dkr.ecr/x:1"


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


def test_table_deletion_protection_can_be_switched_off_outside_prod_only():
    off = {"mlplat:data": {"tableDeletionProtection": False}}
    assert parse("dev", config=config_data(**off)).settings.data.table_deletion_protection is False
    problems = problems_of(stack="prod", config=config_data(**off))
    assert "must stay true in prod" in problems["config.data.tableDeletionProtection"]
