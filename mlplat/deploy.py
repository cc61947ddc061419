"""`mlplat up|destroy`: the real engine through Pulumi's Automation API, where it can run.

The Automation API drives the Pulumi CLI, and the AWS provider needs credentials. Both are checked
first, so a machine without them gets a message saying what to install or configure instead of a
stack trace from deep inside the engine.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from infra.loader import load_environment, read_stack_config, refuse_emptying
from infra.lock_status import refuse_stale_lock
from infra.program import stack_name
from infra.project import PROJECT_ROOT

# The guardrail pack runs on every update. The Automation API's `up` skips the preview, and during
# an update stack rules run only after every resource is registered, so a preview with the pack
# comes first: a mandatory violation of any rule stops the run before anything changes.
POLICY_PACK = PROJECT_ROOT / "policies"


class DeployUnavailable(RuntimeError):
    """The real engine cannot run here; the message says what is missing and how to fix it."""


def check_prerequisites(stack: str) -> None:
    if shutil.which("pulumi") is None:
        raise DeployUnavailable(
            "The Pulumi CLI is not installed (it drives the real engine).\n"
            "  Install it: https://www.pulumi.com/docs/install/\n"
            "  (e.g. `curl -fsSL https://get.pulumi.com | sh`),\n"
            "  then log in to a state backend: `pulumi login` (Pulumi Cloud) or `pulumi login s3://<bucket>`.\n"
            f"  Without it, `mlplat preview --stack {stack}` shows what would be created."
        )
    import boto3

    if boto3.Session().get_credentials() is None:
        raise DeployUnavailable(
            "No AWS credentials found. Configure them for the target account, e.g.\n"
            "  `aws sso login --profile <profile>` and `export AWS_PROFILE=<profile>`, or in CI\n"
            "  assume the mlplat CI deployer role through GitHub's OIDC provider."
        )


def run(stack: str, *, destroy: bool, on_output: Callable[[str], None] = print) -> dict:
    """Validate the declarations, check prerequisites, then preview with the policy pack and
    `pulumi up` (with it again), or `pulumi destroy`, the stack."""
    name = stack_name(stack)
    environment = name.environment  # every layer reads its environment's files
    config = read_stack_config(environment)
    spec = load_environment(environment, config)  # bad input fails before the engine starts
    if not destroy:
        refuse_stale_lock(spec)  # what is deployed is what is committed
    check_prerequisites(stack)
    from pulumi import automation

    workspace_stack = automation.create_or_select_stack(
        stack_name=stack, work_dir=str(PROJECT_ROOT)
    )
    if environment != stack:  # a layer's own config holds only its provider's region
        workspace_stack.set_config("aws:region", automation.ConfigValue(config["aws:region"]))
    if destroy:
        result = workspace_stack.destroy(on_output=on_output)
    else:
        live = _live_models(workspace_stack)
        refuse_emptying(spec, live, f"the live stack {stack}", team=name.team)
        packs = [str(POLICY_PACK)]
        workspace_stack.preview(on_output=on_output, policy_packs=packs)  # raises on a violation
        result = workspace_stack.up(on_output=on_output, policy_packs=packs)
    return dict(result.summary.resource_changes or {})


def _live_models(workspace_stack) -> set[str]:
    """The models that own resources in the stack's state (`pulumi stack export`). A new stack's
    deployment has no resources list yet."""
    from cost_model.graph import Graph

    deployment = workspace_stack.export_stack()
    resources = (deployment.deployment or {}).get("resources") or []
    return Graph.from_export({"version": 3, "deployment": {"resources": resources}}).models()
