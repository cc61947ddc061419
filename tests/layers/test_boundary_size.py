"""A team's permissions boundary (a managed policy in the platform stack) grows with the S3
prefixes it declares; one IAM would refuse (over 6,144 characters) is named at the team's data
before the platform program registers anything."""

from __future__ import annotations

import importlib

from components.team_deployer import MANAGED_POLICY_CHARS, boundary_size_problems
from infra.declarations.environment import TeamData
from infra.loader import load_environment, read_stack_config


def _with_reads(spec, team: str, extra: int):
    def widened(t):
        reads = tuple(f"s3://example-org-ml-data/{team}-extra-{i:03d}/" for i in range(extra))
        return t.model_copy(update={"data": TeamData(read=t.data.read + reads, write=t.data.write)})

    teams = tuple(widened(t) if t.name == team else t for t in spec.teams)
    return spec.model_copy(update={"teams": teams})


def test_the_first_prefix_over_the_limit_is_named_and_the_one_before_passes():
    spec = load_environment("dev", read_stack_config("dev"))
    index, team = 0, spec.teams[0].name
    extra = next(n for n in range(200) if boundary_size_problems(_with_reads(spec, team, n)))
    assert boundary_size_problems(_with_reads(spec, team, extra - 1)) == []
    (problem,) = boundary_size_problems(_with_reads(spec, team, extra))
    assert problem.path == f"teams[{index}].data"
    assert f"over IAM's {MANAGED_POLICY_CHARS}" in problem.message
    # The figure it gives is the rendered boundary's, without whitespace.
    size = int(problem.message.split(" would be ", 1)[1].split(" ", 1)[0])
    assert MANAGED_POLICY_CHARS < size < MANAGED_POLICY_CHARS + 200


def test_a_platform_with_such_a_boundary_is_refused_before_anything_is_built(monkeypatch):
    from typer.testing import CliRunner

    import infra.platform
    from mlplat.cli import app

    module = importlib.import_module("stacks.dev")
    spec = load_environment("dev", read_stack_config("dev"))
    team = spec.teams[0].name
    widened = _with_reads(spec, team, 150)
    monkeypatch.setattr(module, "teams", list(widened.teams))
    registered = []
    monkeypatch.setattr(infra.platform, "PlatformKey", lambda *a, **k: registered.append(a))
    result = CliRunner().invoke(app, ["preview", "--stack", "dev.platform", "-q"])
    assert result.exit_code == 2, result.output
    assert "teams[0].data" in result.output and "permissions boundary would be" in result.output
    assert registered == [] and "Traceback" not in result.output
