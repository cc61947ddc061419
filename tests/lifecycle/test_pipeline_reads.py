"""The retraining pipeline's role can read what the pipeline is told to read: for every model that
retrains, its training and evaluation data (the declared prefix, or the default beside the
training data), evaluated as IAM would on the role's policy in the stack's export."""

from __future__ import annotations

import json

import pytest

from components.lifecycle.team_lifecycle import retraining_parameters
from infra.loader import load_environment, read_stack_config
from tests.conftest import STACKS
from tests.layers.test_team_deployer import allowed


def _object(uri: str) -> str:
    """An object under the S3 prefix ``uri``, as an ARN."""
    return "arn:aws:s3:::" + uri.removeprefix("s3://").rstrip("/") + "/part-00000.parquet"


@pytest.mark.parametrize("stack", STACKS)
def test_the_pipeline_role_reads_the_data_each_retraining_is_given(stack_export, stack):
    spec = load_environment(stack, read_stack_config(stack))
    resources = stack_export(stack)["deployment"]["resources"]
    policies = {
        r["inputs"]["role"]: json.loads(r["inputs"]["policy"])
        for r in resources
        if r["type"] == "aws:iam/rolePolicy:RolePolicy"
        and str(r["inputs"]["role"]).endswith("-lc-pipeline")
    }
    checked = 0
    for model in spec.models:
        if model.retraining is None:
            continue
        policy = policies[f"mlplat-{stack}-{model.team}-lc-pipeline"]
        given = retraining_parameters(model, stack, spec.settings.region, "artifacts")
        for parameter in ("TrainingData", "EvaluationData"):
            assert allowed(policy, "s3:GetObject", _object(given[parameter]), {}), (
                model.name,
                parameter,
                given[parameter],
            )
            checked += 1
    if not checked:
        pytest.skip(f"no model of {stack} retrains")
