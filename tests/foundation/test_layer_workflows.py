"""deploy-layers.yml: a valid workflow that deploys the touched layered stacks, platform first,
each as the role (and in the GitHub environment) that the platform stack creates for it."""

from __future__ import annotations

import json

from test_workflows import WORKFLOWS, _check_workflows, _load

from components.team_deployer import github_environment, team_deployer_trust
from mlplat.touched import job_outputs

WORKFLOW = "deploy-layers.yml"


def _render(text: str, **values: str) -> str:
    for key, value in values.items():
        text = text.replace("${{ " + key + " }}", value)
    return text


def _role(job: dict) -> str:
    step = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/"))
    return step["with"]["role-to-assume"]


def test_the_workflow_is_valid():
    result = _check_workflows(str(WORKFLOWS / WORKFLOW))
    assert result.returncode == 0, result.stdout + result.stderr


def test_serving_stacks_deploy_after_the_platform_and_never_after_its_failure():
    jobs = _load(WORKFLOW)["jobs"]
    assert jobs["platform"]["needs"] == "plan"
    assert jobs["serving"]["needs"] == ["plan", "platform"]
    condition = jobs["serving"]["if"]
    assert "needs.platform.result == 'success'" in condition
    assert "needs.platform.result == 'skipped'" in condition


def test_each_job_assumes_the_role_its_layer_is_given():
    jobs = _load(WORKFLOW)["jobs"]
    values = {"inputs.environment": "dev", "matrix.team": "fraud", "vars.AWS_ACCOUNT_ID": "1"}
    assert (
        _render(_role(jobs["platform"]), **values) == "arn:aws:iam::1:role/mlplat-dev-ci-deployer"
    )
    # The role's name as the platform creates it (infra/platform.py), in the environment it trusts.
    assert (
        _render(_role(jobs["serving"]), **values) == "arn:aws:iam::1:role/mlplat-dev-fraud-deployer"
    )
    environment = _render(jobs["serving"]["environment"], **values)
    assert environment == github_environment("dev", "fraud")
    trust = json.loads(team_deployer_trust("arn:p", "org/repo", "dev", "fraud"))
    subject = trust["Statement"][0]["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"
    ]
    assert subject == f"repo:org/repo:environment:{environment}"
    assert "environment" not in jobs["platform"]  # the platform role trusts the branch


def test_the_plan_outputs_feed_the_jobs():
    outputs = job_outputs(["dev.platform", "dev.serving.fraud", "dev.serving.growth"])
    assert outputs["platform"] == "dev.platform"
    assert json.loads(outputs["serving"]) == [
        {"stack": "dev.serving.fraud", "team": "fraud"},
        {"stack": "dev.serving.growth", "team": "growth"},
    ]
    assert job_outputs(["dev.serving.fraud"])["platform"] == ""
    assert set(_load(WORKFLOW)["jobs"]["plan"]["outputs"]) == set(outputs)


def test_a_shard_is_deployed_as_its_teams_deployer():
    outputs = job_outputs(["dev.serving.fraud", "dev.serving.fraud.1"])
    assert json.loads(outputs["serving"]) == [
        {"stack": "dev.serving.fraud", "team": "fraud"},
        {"stack": "dev.serving.fraud.1", "team": "fraud"},
    ]
