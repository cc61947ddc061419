"""How a bad declaration is told: names at their length bounds, explicit settings that are valid,
and the one error's text (every problem, its path, where it came from)."""

from __future__ import annotations

import pytest

from infra.declarations import SpecError
from infra.declarations.errors import Problem, raising
from infra.loader import parse_environment, read_stack_config
from tests.foundation.conftest import config_data, model_data, team_data


def _problems(teams=None, models=None, config=None) -> dict[str, str]:
    try:
        parse_environment(
            "dev",
            teams=[team_data()] if teams is None else teams,
            models=[model_data()] if models is None else models,
            config=config_data() if config is None else config,
        )
    except SpecError as error:
        return {problem.path: problem.message for problem in error.problems}
    return {}


# Teams: "mlplat-staging-<team>-data-scientist" must fit IAM's 64-character role names.
@pytest.mark.parametrize(("field", "limit"), [("models[0].name", 48), ("teams[0].name", 34)])
def test_names_may_use_their_whole_length_but_not_one_more(field, limit):
    def names(length: int) -> dict:
        name = "a" * length
        if field.startswith("teams"):
            return _problems(teams=[team_data(name=name)], models=[model_data(team=name)])
        return _problems(models=[model_data(name=name)])

    assert names(limit) == {}
    assert names(limit + 1)[field] == f"'{'a' * (limit + 1)}' is {limit + 1} characters; " + (
        f"at most {limit} allowed"
    )


@pytest.mark.parametrize("name", ["fraud-scorer", "a", "m0-1"])
def test_dns_labels_are_accepted(name):
    assert _problems(models=[model_data(name=name)]) == {}


@pytest.mark.parametrize("name", ["-a", "a-", "A", "a_b", "a.b"])
def test_what_is_not_a_dns_label_is_refused_with_why(name):
    message = _problems(models=[model_data(name=name)])["models[0].name"]
    assert message.startswith(f"{name!r} is not a DNS-1123 label")


def test_explicit_valid_network_and_emails_are_accepted():
    config = config_data(
        **{
            "mlplat:network": {"cidr": "10.42.0.0/16"},
            "mlplat:budget": {"monthlyBudgetUsd": 10, "alertEmails": ["a.b@example.co.uk"]},
        }
    )
    assert _problems(config=config) == {}
    bad = config_data(**{"mlplat:budget": {"monthlyBudgetUsd": 10, "alertEmails": ["x@y"]}})
    assert _problems(config=bad)["config.budget.alertEmails[0]"] == "'x@y' is not an email address"


def test_every_problem_of_a_list_is_reported_not_only_the_first():
    types = ["m6i.large", "nope.large", "m6i.large", "zip.small"]
    group = {"instanceTypes": types, "minSize": 1, "maxSize": 2, "desiredSize": 1}
    problems = _problems(config=config_data(**{"mlplat:cluster": {"systemNodes": group}}))
    assert problems == {
        "config.cluster.systemNodes.instanceTypes[1]": "unknown EC2 instance type 'nope.large'",
        "config.cluster.systemNodes.instanceTypes[3]": "unknown EC2 instance type 'zip.small'",
    }
    # Entries that failed to parse are skipped, and later duplicates are still found.
    models = [model_data(name="Bad_Name"), model_data(name="x"), model_data(name="x")]
    problems = _problems(models=models)
    assert "(entries 2 and 3)" in problems["models[2].name"]


def test_an_unknown_team_names_the_known_ones_or_none():
    problems = _problems(teams=[team_data(), team_data(name="growth")], models=[model_data()])
    assert problems == {}
    problems = _problems(models=[model_data(team="ghosts")])
    assert problems["models[0].team"] == "unknown team 'ghosts'; this stack's teams: fraud"
    problems = _problems(teams=[], models=[model_data(team="ghosts")])
    assert problems["models[0].team"] == "unknown team 'ghosts'; this stack's teams: none"


def test_an_unknown_framework_version_lists_the_newest_six():
    message = _problems(models=[model_data(framework_version="9.9")])["models[0].framework_version"]
    known = message.split("known: ")[1].removesuffix(" (newest shown)").split(", ")
    assert len(known) == 6 and known[-1] == "1.9-0"


def test_the_error_text_lists_every_problem_with_its_path_and_source():
    error = SpecError([Problem("models[0].name", "bad"), Problem("", "no stack")], source="s.py")
    assert str(error) == "2 problem(s) in s.py:\n  - models[0].name: bad\n  - no stack"
    assert str(SpecError([Problem("a", "b")])) == "1 problem(s):\n  - a: b"


def test_paths_use_dots_for_fields_and_brackets_for_indexes():
    problems = _problems(
        models=[model_data(), model_data(name="other", scaling={"min_instances": 0})]
    )
    assert "models[1].scaling.min_instances" in problems
    problems = _problems(config=config_data(**{"mlplat:budget": {"monthlyBudgetUsd": 1}}))
    assert problems == {"config.budget.alertEmails": "Field required"}


def test_an_override_keeps_the_base_values_it_does_not_change():
    from infra.declarations import ModelDeclaration

    base = ModelDeclaration.model_validate(model_data(monthly_budget_usd="12.50"))
    spec = parse_environment(
        "dev",
        teams=[team_data()],
        models=[base.override(resources={"gpus": 0})],
        config=config_data(),
    )
    (model,) = spec.models
    assert model.resources.memory_mb == 512 and str(model.monthly_budget_usd) == "12.50"
    assert spec.team("fraud").name == "fraud"


def test_stack_config_is_read_as_the_engine_hands_it_over():
    config = read_stack_config("dev")
    assert config["aws:region"].startswith(("us-", "eu-"))
    assert all(isinstance(value, str) for value in config.values())
    with pytest.raises(SpecError, match="no stack configuration Pulumi.qa.yaml"):
        read_stack_config("qa")


def test_an_override_of_the_wrong_shape_is_a_problem_not_a_traceback():
    from infra.declarations import ModelDeclaration

    base = ModelDeclaration.model_validate(model_data())
    problems = _problems(models=[base.override(instance_type={"size": "big"}, scaling=3)])
    assert set(problems) == {"models[0].instance_type", "models[0].scaling"}


# --- the loader: where a stack comes from --------------------------------------------------------


def test_settings_come_from_the_mlplat_namespace_and_the_aws_region_only():
    from infra.loader import settings_data

    data = settings_data(
        {
            "aws:region": "eu-west-1",
            "aws:profile": "someone",
            "other:cidr": "x",
            "mlplat:network": '{"cidr": "10.1.0.0/16"}',
            "mlplat:tags": "[not json",
            "mlplat:accountId": "210987654321",
        }
    )
    assert data == {
        "region": "eu-west-1",
        "network": {"cidr": "10.1.0.0/16"},
        "tags": "[not json",  # not JSON: kept as written, for validation to name it
        "accountId": "210987654321",
    }


def test_a_stack_without_a_stack_file_is_one_clear_problem():
    from infra.loader import load_environment

    with pytest.raises(SpecError) as caught:
        load_environment("qa", config_data())
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("stack", "no stack file stacks/qa.py")
    ]


def test_a_broken_import_is_reported_as_such_not_as_no_stack_file(monkeypatch):
    # An invalid declaration inside a model package: tests/foundation/test_mistakes.py.
    import infra.loader as loader

    def missing_dependency(name: str):
        raise ModuleNotFoundError("No module named 'somelib'", name="somelib")

    monkeypatch.setattr(loader.importlib, "import_module", missing_dependency)
    with pytest.raises(SpecError) as caught:
        loader.load_environment("dev", config_data())
    (problem,) = caught.value.problems
    assert "No module named 'somelib'" in problem.message
    assert "no stack file" not in problem.message.lower()


def test_stack_level_problems_are_reported_with_the_rest():
    problems = {}
    try:
        parse_environment("qa", teams=[], models=[], config=config_data())
    except SpecError as error:
        problems = {p.path: p.message for p in error.problems}
        assert error.source == "stacks/qa.py + Pulumi.qa.yaml"
    assert problems == {
        "stack": "unknown environment 'qa'; use dev, staging or prod",
        "teams": "stacks/qa.py: a stack needs at least one team",
    }


def test_a_field_validator_from_a_problem_check_refuses_with_the_checks_own_words():
    """``raising`` turns a rule's check into a field's validator: a value the check finds
    fine passes unchanged, any other is refused with the check's message, nothing added."""

    def check(value: str) -> str | None:
        return None if value.startswith("s3://") else f"{value!r} is no S3 URI"

    validate = raising(check)
    assert validate("s3://bucket/prefix") == "s3://bucket/prefix"
    with pytest.raises(ValueError) as refused:
        validate("bucket/prefix")
    assert refused.value.args == ("'bucket/prefix' is no S3 URI",)
