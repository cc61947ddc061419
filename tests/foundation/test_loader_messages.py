"""What the loader says, in full: each problem's path (for programs), subject and message (for a
reader), and the source an error names, for the config file, its YAML, the error vocabulary and
the settings' own messages. A message that loses its place or its advice fails here."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import AfterValidator, BaseModel, ValidationError

from infra import loader
from infra.declarations import SpecError
from infra.declarations.environment import CiSettings
from infra.declarations.errors import Problem, dotted_path, problems_from
from infra.loader import parse_environment, read_stack_config, refuse_emptying
from tests.foundation.conftest import config_data, model_data, team_data
from tests.foundation.test_batch_and_streaming_declarations import job
from tests.foundation.test_batch_and_streaming_declarations import problems as batch_problems
from tests.foundation.test_events_declaration import EKS, kafka
from tests.foundation.test_events_declaration import IMAGE as EVENTS_IMAGE
from tests.foundation.test_events_declaration import problems as events_problems
from tests.lifecycle.test_lifecycle_declaration import RETRAIN
from tests.lifecycle.test_lifecycle_declaration import problems as lifecycle_problems
from tests.lifecycle.test_lifecycle_messages import NEEDS_IMAGE

# --- Pulumi.<stack>.yaml ----------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    """``write(text)``: the stack's config file holds `text` (the real one is untouched)."""
    path = tmp_path / "Pulumi.dev.yaml"
    monkeypatch.setattr(
        loader, "stack_config_path", lambda stack: tmp_path / f"Pulumi.{stack}.yaml"
    )

    def write(text: str) -> None:
        path.write_text(text)

    return write


def _refusal(stack: str = "dev") -> SpecError:
    with pytest.raises(SpecError) as caught:
        read_stack_config(stack)
    return caught.value


def test_a_missing_config_file_is_named_with_its_full_path(config_file, tmp_path):
    error = _refusal("qa")
    assert error.source == str(tmp_path / "Pulumi.qa.yaml")
    assert error.problems == [Problem("", "no stack configuration Pulumi.qa.yaml")]
    assert str(error) == (
        f"1 problem(s) in {tmp_path / 'Pulumi.qa.yaml'}:\n  - no stack configuration Pulumi.qa.yaml"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (  # the parser's place, and where what it was reading started
            "config:\n  mlplat:network:\n    cidr: [10.0.0.0/16\n  aws:region: x\n",
            "Pulumi.dev.yaml:4: not valid YAML (expected ',' or ']', but got ':'; while parsing "
            "a flow sequence started at line 3); fix the syntax there",
        ),
        (  # a place, and no context
            "config:\n  a: b: c\n",
            "Pulumi.dev.yaml:2: not valid YAML (mapping values are not allowed here); "
            "fix the syntax there",
        ),
        (  # a context without a place of its own: not shown
            "config:\n\t a: 1\n",
            "Pulumi.dev.yaml:2: not valid YAML (found character '\\t' that cannot start any "
            "token); fix the syntax there",
        ),
        (  # the reader's error has no place and no `problem`: its own text
            "config:\n  a: \x07\n",
            "Pulumi.dev.yaml: not valid YAML (unacceptable character #x0007: special characters "
            'are not allowed\n  in "<unicode string>", position 13); fix the syntax there',
        ),
    ],
)
def test_invalid_yaml_is_named_with_file_line_and_what_the_parser_read(config_file, text, message):
    config_file(text)
    error = _refusal()
    assert error.source == "Pulumi.dev.yaml"
    assert error.problems == [Problem("", message)]


def test_a_config_that_is_not_a_mapping_is_refused_at_config(config_file):
    config_file("config: [1, 2]\n")
    error = _refusal()
    assert error.source == "Pulumi.dev.yaml"
    assert error.problems == [
        Problem("config", "Pulumi.dev.yaml: `config:` must be a mapping of key: value")
    ]


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "config:\n"])
def test_a_file_without_config_values_gives_no_config(config_file, text):
    config_file(text)
    assert read_stack_config("dev") == {}


def test_config_values_are_handed_over_as_the_engine_does(config_file):
    config_file("config:\n  aws:region: us-east-1\n  mlplat:network:\n    cidr: 10.0.0.0/16\n")
    assert read_stack_config("dev") == {
        "aws:region": "us-east-1",
        "mlplat:network": '{"cidr": "10.0.0.0/16"}',
    }


# --- the error vocabulary ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "prefix", "path"),
    [
        (("models", 3, "scaling", "max_instances"), "", "models[3].scaling.max_instances"),
        (("scaling", "max_instances"), "models[3]", "models[3].scaling.max_instances"),
        ((0, "name"), "teams", "teams[0].name"),
        (("name",), "", "name"),
        ((), "", ""),
    ],
)
def test_a_location_reads_as_a_dotted_path(location, prefix, path):
    assert dotted_path(location, prefix) == path


def test_a_location_without_prefix_is_the_fields_own_path():
    assert dotted_path(("cluster", "gpuNodes")) == "cluster.gpuNodes"


def _positive(value: int) -> int:
    if value <= 0:
        raise ValueError("must be positive")
    return value


class _Sized(BaseModel):
    size: Annotated[int, AfterValidator(_positive)] | list[int]


def test_a_validation_error_becomes_problems_without_pydantics_validator_kinds():
    with pytest.raises(ValidationError) as caught:
        _Sized(size=-1)
    # pydantic's location is ('size', 'function-after[_positive(), int]'): not a field a user
    # wrote; nor is its "Value error, " prefix part of the message.
    assert problems_from(caught.value) == [
        Problem("size", "must be positive"),
        Problem("size.list[int]", "Input should be a valid list"),
    ]
    assert problems_from(caught.value, prefix="models[1]")[0] == Problem(
        "models[1].size", "must be positive"
    )


def test_problems_render_with_their_subject_field_and_message():
    assert str(Problem("models[0].x", "bad")) == "models[0].x: bad"
    assert str(Problem("", "bad")) == "bad"
    assert str(Problem("models[0].x", "bad", subject="model 'a' (f.py:3)", field="x")) == (
        "model 'a' (f.py:3): x: bad"
    )
    error = SpecError([Problem("a", "one"), Problem("", "two")], source="stacks/dev.py")
    assert str(error) == "2 problem(s) in stacks/dev.py:\n  - a: one\n  - two"
    assert str(SpecError([Problem("a", "one")])) == "1 problem(s):\n  - a: one"


# --- settings' own messages -------------------------------------------------------------------


def _problems(**config_sections) -> dict[str, str]:
    try:
        parse_environment(
            "dev", teams=[team_data()], models=[model_data()], config=config_data(**config_sections)
        )
    except SpecError as error:
        return {problem.path: problem.message for problem in error.problems}
    return {}


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        (
            "10.0.0.0/8",
            "'10.0.0.0/8' includes reserved addresses (10.0.0.0/8), which EKS refuses: list "
            "public addresses (those in the VPC reach the private endpoint)",
        ),
        (  # half of every address: 10.0.0.0/8 is inside
            "0.0.0.0/1",
            "'0.0.0.0/1' includes reserved addresses (0.0.0.0/8), which EKS refuses: list "
            "public addresses (those in the VPC reach the private endpoint)",
        ),
        (
            "2001:db8::/32",
            "'2001:db8::/32': the cluster is IPv4; its public endpoint takes IPv4 blocks",
        ),
    ],
)
def test_a_public_access_block_is_refused_saying_why(cidr, message):
    problems = _problems(**{"mlplat:cluster": {"publicAccessCidrs": [cidr]}})
    assert problems == {"config.cluster.publicAccessCidrs[0]": message}


def test_every_address_is_a_public_access_block_eks_accepts():
    # 0.0.0.0/0 overlaps the reserved blocks too, but it is EKS's own default: every address.
    assert _problems(**{"mlplat:cluster": {"publicAccessCidrs": ["0.0.0.0/0"]}}) == {}


@pytest.mark.parametrize(
    ("branch", "found"), [("a b", " (' ' at 1)"), ("a/", " ('/' at 1)"), ("", "")]
)
def test_a_branch_git_would_refuse_is_named_with_what_and_where(branch, found):
    problems = _problems(
        **{"mlplat:ci": {"githubRepository": "example-org/mlplat", "branch": branch}}
    )
    assert problems == {
        "config.ci.branch": f"{branch!r} is not a git branch name{found}; name the branch exactly "
        "as git shows it (no spaces or wildcards: the deployer role trusts one branch)"
    }


def test_the_oidc_provider_trusted_is_the_named_one_or_the_accounts_own():
    named = "arn:aws:iam::210987654321:oidc-provider/token.actions.githubusercontent.com"
    ci = CiSettings(github_repository="o/r", github_oidc_provider_arn=named)
    assert ci.github_oidc_provider_arn_in("123456789012") == named
    assert CiSettings(github_repository="o/r").github_oidc_provider_arn_in("123456789012") == (
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    )


def test_prod_keeps_table_deletion_protection_saying_why():
    config = config_data(**{"mlplat:data": {"tableDeletionProtection": False}})
    with pytest.raises(SpecError) as caught:
        parse_environment("prod", teams=[team_data()], models=[model_data()], config=config)
    assert (
        Problem(
            "config.data.tableDeletionProtection",
            "must stay true in prod: its tables are never deleted",
        )
        in caught.value.problems
    )


def test_models_are_checked_against_the_serving_defaults_when_another_section_is_invalid():
    """A broken budget section does not hide a model that outgrows its endpoint's share."""
    config = config_data(**{"mlplat:budget": {"monthlyBudgetUsd": -1}})
    # Exactly ml.m5.xlarge (a minimum would let placement choose a larger type): 11,468 MB free.
    too_big = model_data(resources={"memory_mb": 12000}, instance_type_mode="exact")
    with pytest.raises(SpecError) as caught:
        parse_environment("dev", teams=[team_data()], models=[too_big], config=config)
    paths = {problem.path for problem in caught.value.problems}
    assert "models[0].resources.memory_mb" in paths and "config.budget.monthlyBudgetUsd" in paths


# --- a stack that would delete what is deployed -----------------------------------------------


@pytest.mark.parametrize(("team", "of_team"), [(None, ""), ("fraud", " of team 'fraud'")])
def test_emptying_a_deployed_stack_names_the_models_it_would_delete(team, of_team):
    spec = parse_environment("dev", teams=[team_data()], models=[], config=config_data())
    with pytest.raises(SpecError) as caught:
        refuse_emptying(spec, ["b", "a", "b"], "the live stack", team=team)
    assert caught.value.source == "stacks/dev.py"
    assert caught.value.problems == [
        Problem(
            "models",
            f"declares no models{of_team}, but the live stack has resources of 2 (a, b): `up` "
            "would delete them. Check the spelling of `models = [...]`; to really serve none, "
            "set `serves_no_models = True`",
            subject="stacks/dev.py",
        )
    ]


def test_a_stack_that_opts_in_or_has_nothing_deployed_may_be_empty():
    spec = parse_environment("dev", teams=[team_data()], models=[], config=config_data())
    refuse_emptying(spec, [], "the live stack")
    opted_in = parse_environment(
        "dev", teams=[team_data()], models=[], config=config_data(), serves_no_models=True
    )
    refuse_emptying(opted_in, ["a"], "the live stack")


def test_an_invalid_declaration_keeps_its_input_as_written_nested_ones_as_data():
    """While a stack file is imported an invalid declaration does not raise: the loader reads
    back what was written (a list holding a declaration included) and reports it whole."""
    from infra.declarations import Team
    from infra.declarations.environment import TeamQuota
    from infra.declarations.model import collecting_declarations

    with collecting_declarations():
        team = Team(name="Bad!", monthly_budget_usd=1, quota=[TeamQuota(cpu=2), "x"])
    quota = {"cpu": 2, "memory_gib": 64, "gpus": 0, "pods": 50}  # a valid one: its fields
    assert team.as_input() == {"name": "Bad!", "monthly_budget_usd": 1, "quota": [quota, "x"]}


def test_an_invalid_declaration_kept_while_collecting_still_behaves_as_a_declaration():
    """A stack file may print or compare what it declared before the loader reports it: the
    kept declaration answers as pydantic's models do, with the fields as written."""
    from infra.declarations.environment import TeamQuota
    from infra.declarations.model import collecting_declarations

    with collecting_declarations():
        first, second = TeamQuota(cpu=-1, pods=3), TeamQuota(cpu=-1, pods=3)
    assert first.model_fields_set == {"cpu", "pods"}
    assert first == second and first != TeamQuota(cpu=1, pods=3)
    assert repr(first) == "TeamQuota(cpu=-1, pods=3)"


# --- a model on its instance ------------------------------------------------------------------


def _model_problems(model: dict, **config_sections) -> dict[str, str]:
    config = config_data(**config_sections)
    try:
        parse_environment("dev", teams=[team_data()], models=[model], config=config)
    except SpecError as error:
        return {problem.path: problem.message for problem in error.problems}
    return {}


@pytest.mark.parametrize(("memory", "fits"), [(16384, True), (16385, False)])
def test_with_all_memory_given_to_models_a_model_may_fill_the_instance(memory, fits):
    serving = {"mlplat:serving": {"modelMemoryFraction": 1}}
    # Exactly ml.m5.xlarge: as a minimum, placement would choose a larger type instead.
    model = model_data(resources={"memory_mb": memory}, instance_type_mode="exact")
    problems = _model_problems(model, **serving)
    expected = (
        {}
        if fits
        else {
            "models[0].resources.memory_mb": f"{memory} MB does not fit on ml.m5.xlarge (16384 MB)"
        }
    )
    assert problems == expected


# --- whom a problem is about ------------------------------------------------------------------


def _subjects(models: list) -> list[str]:
    with pytest.raises(SpecError) as error:
        parse_environment("dev", teams=[team_data()], models=models, config=config_data())
    return [problem.subject for problem in error.value.problems if problem.subject]


def test_a_model_without_a_name_is_named_by_its_place_in_the_stack_file():
    data = model_data()
    del data["name"]
    assert set(_subjects([model_data(), data])) == {"models[1] of stacks/dev.py"}


def _paths_with_a_broken_budget(model: dict, **sections) -> set[str]:
    config = config_data(**{"mlplat:budget": {"monthlyBudgetUsd": -1}}, **sections)
    with pytest.raises(SpecError) as caught:
        parse_environment("dev", teams=[team_data()], models=[model], config=config)
    paths = {problem.path for problem in caught.value.problems}
    assert "config.budget.monthlyBudgetUsd" in paths
    return paths


@pytest.mark.parametrize(("fraction", "fits"), [("0.7", True), ("0.5", False)])
def test_a_models_share_is_its_declared_serving_sections_when_another_section_is_invalid(
    fraction, fits
):
    """9,000 MB on exactly ml.m5.xlarge (16 GiB): within 0.7 of it, not within 0.5."""
    model = model_data(resources={"memory_mb": 9000}, instance_type_mode="exact")
    paths = _paths_with_a_broken_budget(
        model, **{"mlplat:serving": {"modelMemoryFraction": fraction}}
    )
    assert ("models[0].resources.memory_mb" not in paths) is fits, paths


@pytest.mark.parametrize(("nodes", "fits"), [("m6i.xlarge", True), ("m6i.large", False)])
def test_an_eks_model_fits_its_declared_nodes_when_another_section_is_invalid(nodes, fits):
    """3 CPUs per replica: an m6i.xlarge node offers them, the default m6i.large does not."""
    model = model_data(serving="eks", instance_type=None, resources={"memory_mb": 1024, "cpu": 3})
    cluster = {"systemNodes": {"instanceTypes": [nodes], "minSize": 2, "maxSize": 4}}
    paths = _paths_with_a_broken_budget(model, **{"mlplat:cluster": cluster})
    assert ("models[0].resources" not in paths) is fits, paths


def test_a_name_kubernetes_would_refuse_is_refused_saying_what_a_name_may_hold():
    problems = _problems_of(models=[model_data(name="Fraud_Scorer")])
    assert problems["models[0].name"] == (
        "'Fraud_Scorer' is not a DNS-1123 label (lowercase letters, digits and '-', starting and "
        "ending with a letter or digit), as Kubernetes and SageMaker require"
    )


def test_something_listed_that_is_no_model_is_a_problem_at_its_place_not_a_crash():
    with pytest.raises(SpecError) as caught:
        parse_environment("dev", teams=[team_data()], models=["fraud-scorer"], config=config_data())
    (problem,) = caught.value.problems
    assert problem.subject == "models[0] of stacks/dev.py"


def _problems_of(models: list) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        parse_environment("dev", teams=[team_data()], models=models, config=config_data())
    return {problem.path: problem.message for problem in caught.value.problems}


# --- every model goes through the rules of its fields, with the stack's environment ---------
# (Each rule's own messages are tested with its field; these check the loader runs it.)


def test_a_team_without_a_name_is_named_by_its_place_in_the_stack_file():
    data = team_data()
    del data["name"]
    with pytest.raises(SpecError) as caught:
        parse_environment("dev", teams=[data], models=[], config=config_data())
    subjects = {p.subject for p in caught.value.problems if p.path.startswith("teams[0]")}
    assert subjects == {"teams[0] of stacks/dev.py"}


def test_a_models_lifecycle_is_checked_for_its_stack_and_with_its_settings():
    automatic = {**RETRAIN, "approval": "automatic"}
    approval = "models[0].retraining.approval"
    assert approval in lifecycle_problems("prod", monitoring={}, retraining=automatic)
    assert approval not in lifecycle_problems("dev", monitoring={}, retraining=automatic)
    assert lifecycle_problems(image=None, monitoring={}) == {"models[0].monitoring": NEEDS_IMAGE}


def test_a_models_events_are_checked_at_its_path_with_the_streaming_settings():
    eks = model_data(**EKS, events={"monthly_events": 10})
    assert "config streaming.gatewayImage" in events_problems(eks, kafka())["models[0].events"]
    assert events_problems(eks, kafka(gatewayImage=EVENTS_IMAGE)) == {}


@pytest.mark.parametrize(("nodes", "fits"), [(["m6i.4xlarge"], True), (["m6i.xlarge"], False)])
def test_a_models_batch_executors_are_sized_against_the_declared_spot_nodes(nodes, fits):
    """A 15 GB executor (plus Spark's overhead) fits on an m6i.4xlarge, not an m6i.xlarge."""
    config = config_data(**{"mlplat:cluster": {"spotNodes": {"instanceTypes": nodes}}})
    found = batch_problems(job(size={"executor_memory_gb": 15}), config=config)
    assert ("models[0].batch[0].size" not in found) is fits, found


def test_a_config_key_written_as_a_path_is_refused_not_ignored():
    """``mlplat:budget:monthlyBudgetUsd`` is a key of the mlplat namespace that no setting
    has (Pulumi nests with ``--path``, not colons): refused, where ignoring it would deploy
    the default budget while the file seems to set one."""
    config = config_data() | {"mlplat:budget:monthlyBudgetUsd": "5"}
    with pytest.raises(SpecError) as caught:
        parse_environment("dev", teams=[team_data()], models=[model_data()], config=config)
    assert {p.path: p.message for p in caught.value.problems} == {
        "config.budget:monthlyBudgetUsd": "Extra inputs are not permitted"
    }
