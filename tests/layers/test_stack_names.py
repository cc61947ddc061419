"""Stack names: which layer a stack builds, and that every layer of prod is judged as prod."""

from __future__ import annotations

import pytest

from infra.declarations import SpecError
from infra.layers import Layer, StackName, environment_of, layered_stacks, parse_stack
from infra.program import stack_name
from policies.framework import is_prod


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("dev", StackName("dev", Layer.SINGLE)),
        ("prod.platform", StackName("prod", Layer.PLATFORM)),
        ("staging.serving.fraud", StackName("staging", Layer.SERVING, "fraud")),
        ("dev.serving.risk-ops", StackName("dev", Layer.SERVING, "risk-ops")),
    ],
)
def test_a_stack_name_says_its_environment_layer_and_team(name, parsed):
    assert parse_stack(name) == parsed
    assert str(parsed) == name  # and the name is rebuilt exactly
    assert environment_of(name) == parsed.environment


@pytest.mark.parametrize("name", ["dev.fraud", "dev.serving", "dev.platform.x", "Dev", "dev..x"])
def test_a_name_of_no_known_shape_is_a_spec_error_naming_the_shapes(name):
    with pytest.raises(SpecError) as raised:
        stack_name(name)
    assert "<env>.serving.<team>" in raised.value.render()


def test_layered_stacks_put_the_platform_first():
    assert layered_stacks("dev", ["growth", "fraud"]) == [
        "dev.platform",
        "dev.serving.fraud",
        "dev.serving.growth",
    ]


@pytest.mark.parametrize("stack", ["prod", "prod.platform", "prod.serving.fraud"])
def test_every_layer_of_prod_is_prod_to_the_policy_pack(stack):
    assert is_prod(f"urn:pulumi:{stack}::mlplat::aws:kms/key:Key::k")


@pytest.mark.parametrize("stack", ["dev", "dev.platform", "staging.serving.prod", "production"])
def test_no_layer_of_another_environment_is_prod(stack):
    assert not is_prod(f"urn:pulumi:{stack}::mlplat::aws:kms/key:Key::k")


def test_a_serving_stack_of_an_unknown_team_exits_2_naming_the_teams():
    from typer.testing import CliRunner

    from mlplat.cli import app

    result = CliRunner().invoke(app, ["preview", "--stack", "dev.serving.nobody", "-q"])
    assert result.exit_code == 2
    assert "'nobody' is not a team of stacks/dev.py (teams: fraud, growth)" in result.output


@pytest.mark.parametrize("layer", ["platform", "serving", "all"])
def test_the_cli_previews_each_shape_of_stack_name(layer):
    """`mlplat preview --stack` takes every shape the README documents (a layer's name reads
    its environment's configuration and locks, not a file of its own)."""
    from typer.testing import CliRunner

    from infra.layers import layered_stacks
    from infra.loader import load_environment, read_stack_config
    from mlplat.cli import app

    spec = load_environment("dev", read_stack_config("dev"))
    stacks = layered_stacks("dev", [t.name for t in spec.teams])
    stack = {"platform": stacks[0], "serving": stacks[-1], "all": "dev.*"}[layer]
    result = CliRunner().invoke(app, ["preview", "--stack", stack, "-q"])
    assert result.exit_code == 0, result.output
