"""`mlplat preview|up|destroy` as a user runs them: clean output, clean errors, clear boundaries."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from infra import deploy
from infra.cli import app

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

    monkeypatch.setattr("infra.offline.engine.read_stack_config", broken_config)
    result = runner.invoke(app, ["preview", "--stack", "dev"])
    assert result.exit_code == 2
    assert "config.ci.githubRepository" in result.output
    assert "Traceback" not in result.output


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
    assert calls == [selected, "destroy"] if destroy else [selected, "preview", "up"]
    assert changes == ({"delete": 3} if destroy else {"create": 3})
    assert lines == ["Destroying (dev)"] if destroy else ["Previewing (dev)", "Updating (dev)"]


def test_a_policy_violation_in_the_preview_stops_the_update(monkeypatch):
    from pulumi.automation.errors import CommandError

    calls = []

    class ViolatingStack:
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
