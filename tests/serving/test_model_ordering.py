"""SageMaker models are created after, and deleted before, their execution role's policy."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

STACKS = ("dev", "staging", "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_every_model_waits_for_its_execution_role_policy(stack, stack_export):
    resources = stack_export(stack)["deployment"]["resources"]
    roles = {r["outputs"]["arn"]: r for r in resources if r["type"] == "aws:iam/role:Role"}
    policies = [r for r in resources if r["type"] == "aws:iam/rolePolicy:RolePolicy"]
    models = [r for r in resources if r["type"] == "aws:sagemaker/model:Model"]
    assert models
    for model in models:
        role = roles[model["inputs"]["executionRoleArn"]]
        # CreateModel checks that the role may pull the image and read the artifacts: without
        # the policy in place first, it fails (and a destroy would strip it from a live model).
        role_policies = {p["urn"] for p in policies if p["inputs"]["role"] == role["id"]}
        assert role_policies, model["urn"]
        assert role_policies <= set(model["dependencies"]), model["urn"]
