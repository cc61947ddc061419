"""`mlplat preview|up|destroy` as a user runs them: clean output, clean errors, clear boundaries."""

from __future__ import annotations

import copy
import json
import shutil

import pytest
from pulumi.automation import Deployment
from typer.testing import CliRunner

from infra.project import PROJECT_ROOT
from mlplat import deploy
from mlplat.cli import app

runner = CliRunner()


def test_preview_prints_the_tree_and_counts_and_writes_the_export(tmp_path):
    target = tmp_path / "dev.json"
    result = runner.invoke(app, ["preview", "--stack", "dev", "--export", str(target)])
    assert result.exit_code == 0, result.output
    assert "mlplat-dev" in result.output
    assert "mlplat:serving:MultiModelEndpoint" in result.output
    assert "Resources by type" in result.output and "total" in result.output
    document = json.loads(target.read_text())
    assert document["version"] == 3


def test_a_bad_stack_is_a_clean_message_not_a_traceback(monkeypatch):
    from infra import loader

    real = loader.read_stack_config

    def broken_config(stack):
        config = real(stack)
        config["mlplat:ci"] = json.dumps({"githubRepository": "no slash"})
        return config

    monkeypatch.setattr("mlplat.offline.engine.read_stack_config", broken_config)
    result = runner.invoke(app, ["preview", "--stack", "dev"])
    assert result.exit_code == 2
    assert "config.ci.githubRepository" in result.output
    assert "Traceback" not in result.output


def test_a_missing_region_names_the_key_the_user_writes(monkeypatch):
    from infra import loader

    real = loader.read_stack_config

    def without_region(stack):
        return {k: v for k, v in real(stack).items() if k != "aws:region"}

    monkeypatch.setattr(loader, "read_stack_config", without_region)
    result = runner.invoke(app, ["models", "list", "--stack", "dev"])
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert "config.aws:region: Field required" in result.output
    assert "config.region" not in result.output


def test_an_unknown_stack_is_refused_with_the_stacks_that_exist():
    result = runner.invoke(app, ["preview", "--stack", "qa"])
    assert result.exit_code == 2
    assert "Pulumi.qa.yaml" in result.output
    assert result.output.startswith("error: ")
    assert "the stacks are dev, prod, staging" in result.output


@pytest.mark.parametrize("command", ["up", "destroy"])
def test_deploy_without_the_pulumi_cli_says_what_to_install(command, monkeypatch):
    monkeypatch.setattr(deploy.shutil, "which", lambda name: None)
    result = runner.invoke(app, [command, "--stack", "dev"])
    assert result.exit_code == 2
    assert "Pulumi CLI is not installed" in result.output
    assert "pulumi login" in result.output


def test_deploy_without_aws_credentials_says_how_to_log_in(monkeypatch, tmp_path):
    monkeypatch.setattr(deploy.shutil, "which", lambda name: "/usr/local/bin/pulumi")
    for variable in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = runner.invoke(app, ["up", "--stack", "dev"])
    assert result.exit_code == 2
    assert "No AWS credentials" in result.output


def test_deploy_validates_declarations_before_checking_tools(monkeypatch):
    monkeypatch.setattr(deploy.shutil, "which", lambda name: pytest.fail("checked tools first"))
    result = runner.invoke(app, ["up", "--stack", "qa"])
    assert result.exit_code == 2
    assert "Pulumi.qa.yaml" in result.output


@pytest.mark.parametrize("destroy", [False, True])
def test_deploy_drives_the_automation_api_when_everything_is_there(destroy, monkeypatch):
    """Up to the boundary: the stack is selected in the project folder, and `up` or `destroy`
    (the one asked for) streams its output."""
    calls = []

    def result(changes):
        summary = type("Summary", (), {"resource_changes": changes})()
        return type("Result", (), {"summary": summary})()

    class FakeStack:
        def export_stack(self):
            calls.append("export")
            return Deployment(version=3, deployment={"manifest": {}})  # a new stack: no resources

        def preview(self, on_output, policy_packs):
            calls.append("preview")
            assert policy_packs == [str(deploy.POLICY_PACK)]  # stack rules block only here
            on_output("Previewing (dev)")

        def up(self, on_output, policy_packs):
            calls.append("up")
            assert policy_packs == [str(deploy.POLICY_PACK)]
            on_output("Updating (dev)")
            return result({"create": 3})

        def destroy(self, on_output):
            calls.append("destroy")
            on_output("Destroying (dev)")
            return result({"delete": 3})

    def select(stack_name, work_dir):
        calls.append((stack_name, work_dir))
        return FakeStack()

    monkeypatch.setattr(deploy, "check_prerequisites", lambda stack: None)
    monkeypatch.setattr("pulumi.automation.create_or_select_stack", select)
    lines = []
    changes = deploy.run("dev", destroy=destroy, on_output=lines.append)
    selected = ("dev", str(deploy.PROJECT_ROOT))
    # Parenthesised: `assert a == b if c else d` asserts d (a non-empty list) when c is false.
    assert calls == ([selected, "destroy"] if destroy else [selected, "export", "preview", "up"])
    assert changes == ({"delete": 3} if destroy else {"create": 3})
    assert lines == (["Destroying (dev)"] if destroy else ["Previewing (dev)", "Updating (dev)"])


def test_a_policy_violation_in_the_preview_stops_the_update(monkeypatch):
    from pulumi.automation.errors import CommandError

    calls = []

    class ViolatingStack:
        def export_stack(self):
            return Deployment(version=3, deployment={"manifest": {}})

        def preview(self, on_output, policy_packs):
            calls.append("preview")
            raise CommandError(type("R", (), {"stdout": "", "stderr": "mandatory", "code": 255})())

        def up(self, on_output, policy_packs):
            calls.append("up")

    monkeypatch.setattr(deploy, "check_prerequisites", lambda stack: None)
    monkeypatch.setattr("pulumi.automation.create_or_select_stack", lambda **_: ViolatingStack())
    with pytest.raises(CommandError):
        deploy.run("dev", destroy=False, on_output=lambda line: None)
    assert calls == ["preview"]


def test_the_fake_stack_calls_what_the_automation_api_really_takes():
    import inspect

    from pulumi.automation import Stack

    for method in (Stack.preview, Stack.up):
        assert {"on_output", "policy_packs"} <= set(inspect.signature(method).parameters)
    assert "on_output" in inspect.signature(Stack.destroy).parameters
    assert list(inspect.signature(Stack.export_stack).parameters) == ["self"]
    assert set(inspect.signature(Deployment).parameters) == {"version", "deployment"}
    assert (deploy.POLICY_PACK / "PulumiPolicy.yaml").is_file()


def test_a_failed_update_is_a_message_and_exit_1(monkeypatch):
    from pulumi.automation.errors import CommandError

    def failing(stack, destroy):
        raise CommandError(type("Result", (), {"stdout": "", "stderr": "boom", "code": 255})())

    monkeypatch.setattr(deploy, "run", failing)
    result = runner.invoke(app, ["up", "--stack", "dev"])
    assert result.exit_code == 1
    assert "pulumi up failed" in result.output and "Traceback" not in result.output


def test_a_registry_version_that_does_not_exist_is_a_clean_message(monkeypatch, tmp_path):
    """Found only when packaging asks the registry: still a message, not a traceback."""
    import stacks.dev

    store = tmp_path / "mlruns"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    missing = stacks.dev.models[1].override(artifact="models:/chargeback-risk/99")
    monkeypatch.setattr(stacks.dev, "models", [stacks.dev.models[0], missing])
    result = runner.invoke(app, ["preview", "--stack", "dev"])
    assert result.exit_code == 2, result.output
    assert "cannot package a model" in result.output
    assert "models:/chargeback-risk/99" in result.output
    assert "Traceback" not in result.output


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    commands = result.output.split("Commands:", 1)[1]
    listed = {line.split()[0] for line in commands.splitlines() if line.strip()}
    assert {"preview", "up", "destroy", "policy", "cost", "prices", "models"} <= listed


# --- one convention for every command -------------------------------------------------------

BOX_AND_ESCAPE = set("│┃─━┌┐└┘├┤┬┴┼╭╮╰╯\x1b")


def _commands(group=None, path=()):
    """(path, command) for every command of the `mlplat` tree."""
    import typer.main

    group = group or typer.main.get_command(app)
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_command_follows_the_cli_conventions():
    from mlplat.cli_options import known_stacks

    commands = list(_commands())
    assert len(commands) >= 9
    for path, command in commands:
        params = {param.name: param for param in command.params}
        if "stack" in params:  # one --stack: -s, no default, the existing stacks in its help
            stack = params["stack"]
            assert sorted(stack.opts) == ["--stack", "-s"], path
            assert stack.default is None, path
            assert all(name in stack.help for name in known_stacks()), path
        for param in command.params:  # a boolean option is a flag: no value, no placeholder
            if isinstance(param.default, bool):
                assert param.is_flag, (path, param.name)
        wide = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        narrow = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
        assert wide.exit_code == 0 and narrow.exit_code == 0, path
        for output in (wide.output, narrow.output):
            assert str(PROJECT_ROOT) not in output, path  # no machine paths in help
            assert "<bool>" not in output and "BOOLEAN" not in output, path
            assert not set(output) & BOX_AND_ESCAPE, path  # plain text, greppable
        assert max(len(line) for line in narrow.output.splitlines()) <= 80, path
        # Help text is wrapped to the terminal, not where the source breaks its lines: within a
        # paragraph, no line would have room for the next line's first word.
        description = narrow.output.split("\n\n", 1)[1].split("Arguments:")[0].split("Options:")[0]
        for paragraph in description.split("\n\n"):
            lines = paragraph.splitlines()
            for line, following in zip(lines, lines[1:], strict=False):
                assert len(line) + 1 + len(following.split()[0]) > 76, (path, line)


def test_every_error_is_one_error_line_and_exit_2(tmp_path):
    stack_commands = [p for p, c in _commands() if "stack" in {x.name for x in c.params}]
    assert {("preview",), ("cost",), ("policy", "check"), ("models", "list")} <= set(stack_commands)
    for path in stack_commands:
        result = runner.invoke(app, [*path, "--stack", "qa"])
        assert result.exit_code == 2, (path, result.output)
        assert result.output.startswith("error: "), (path, result.output)
        assert "the stacks are dev, prod, staging" in result.output, path
    for path in (("cost",), ("policy", "check")):
        result = runner.invoke(app, list(path))
        assert result.exit_code == 2 and result.output.startswith("error: "), path
        assert "exactly one of --stack or --file" in result.output
    unknown = runner.invoke(app, ["preview", "--stak", "dev"])
    assert unknown.exit_code == 2 and unknown.output.startswith("error: No such option")


def test_help_imports_no_heavy_module():
    """`--help` of every command answers without importing an SDK (each command imports what
    it needs when it runs). Speed itself is measured in benchmarks/cli_startup.py. (pydantic
    is not checked: typer itself converts parameters with it.)"""
    import subprocess
    import sys

    script = """
import json, sys
from typer.testing import CliRunner
from mlplat.cli import app
import typer.main
def walk(group, path=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from walk(command, (*path, name))
        yield (*path, name)
runner = CliRunner()
assert runner.invoke(app, ["--help"]).exit_code == 0
for path in walk(typer.main.get_command(app)):
    assert runner.invoke(app, [*path, "--help"]).exit_code == 0, path
heavy = ("pulumi", "pulumi_aws", "pulumi_eks", "pulumi_kubernetes", "pulumi_policy",
         "sagemaker", "mlflow", "boto3", "botocore", "numpy", "yaml", "components")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.splitlines()[-1]) == []


@pytest.mark.slow
def test_preview_total_is_what_the_diff_counts(tmp_path):
    """Both count every resource of the export, the stack and its providers included."""
    target = tmp_path / "dev.json"
    result = runner.invoke(app, ["preview", "--stack", "dev", "--export", str(target)])
    assert result.exit_code == 0, result.output
    assert not set(result.output) & BOX_AND_ESCAPE  # piped: plain tree and table
    (total_line,) = [line for line in result.output.splitlines() if line.startswith("total")]
    total = int(total_line.split()[-1])
    assert total == len(json.loads(target.read_text())["deployment"]["resources"])
    again = runner.invoke(app, ["preview", "-s", "dev", "--against", str(target), "--json"])
    assert again.exit_code == 0, again.output
    plan = json.loads(again.output)
    assert plan["changes"] == [] and plan["unchanged"] == total == plan["total"]


@pytest.mark.skipif(
    shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists(),
    reason="needs a git checkout",
)
def test_the_readme_documents_one_change_report_and_its_exports_are_ignored():
    """The README's way to compare with main is the change report (which works from any branch,
    main included), and every export file it tells people to write is git-ignored."""
    import re
    import subprocess

    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## What a change creates and costs", 1)[1].split("\n## ", 1)[0]
    assert ".ci/change-report main" in section
    assert "git worktree add" not in readme  # the recipe that fails on main is gone
    exports = set(re.findall(r"--export[ =]([\w./-]+\.json)", readme))
    assert exports
    for path in exports:
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", "--no-index", path], cwd=PROJECT_ROOT
        )
        assert ignored.returncode == 0, f"{path} would show up in git status"


def _words(text: str) -> set[str]:
    return set("".join(" " if c in BOX_AND_ESCAPE else c for c in text).split())


@pytest.mark.slow
def test_the_preview_reads_at_80_columns_without_a_broken_word(stack_export):
    from rich.console import Console

    from cost_model.graph import Graph
    from mlplat.plan_diff import diff
    from mlplat.preview_view import display_type, render, render_diff

    document = stack_export("dev")
    console = Console(width=80, force_terminal=True, color_system=None)
    with console.capture() as captured:
        render(document, console)
        base = copy.deepcopy(document)
        del base["deployment"]["resources"][-1]  # the change creates one resource
        render_diff(diff(Graph.from_export(base), Graph.from_export(document)), console)
    output = captured.get()
    assert max(len(line) for line in output.splitlines()) <= 80
    words = _words(output)
    for resource in document["deployment"]["resources"]:
        assert display_type(resource["type"]) in words, resource["type"]
        if not resource["custom"]:  # components are named in the tree
            assert resource["urn"].rsplit("::", 1)[-1] in words
