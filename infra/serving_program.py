"""A team's serving stack (``<env>.serving.<team>``): its models on the platform stack's contract.

The platform is reached through one ``pulumi.StackReference`` and one validated contract; nothing
else of the platform stack is visible here.
"""

from __future__ import annotations

import pulumi

from components.lifecycle.team_lifecycle import LifecyclePlatform
from components.monitoring import TeamRuleNamespaces
from components.observability import Observability, team_dashboard_name
from components.serving.fleet import team_execution_role
from infra.contract import KUBECONFIG_OUTPUT, ContractError, read_contract
from infra.declarations import EnvironmentSpec
from infra.declarations.errors import Problem, SpecError
from infra.layers import StackName, platform_stack
from infra.lifecycle import build_team_lifecycle
from infra.serving import (
    ContractCluster,
    PlatformView,
    build_team_serving,
    holds_model,
    monitored,
)


def platform_reference_name(environment: str) -> str:
    """``<organization>/<project>/<env>.platform``: the form every backend accepts."""
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{platform_stack(environment)}"


def build_serving_stack(spec: EnvironmentSpec, stack: StackName) -> None:
    env, team = spec.name.value, stack.team or ""
    teams = {t.name: t for t in spec.teams}
    if team not in teams:
        names = ", ".join(sorted(teams))
        raise SpecError(
            [Problem("stack", f"{team!r} is not a team of stacks/{env}.py (teams: {names})")],
            source=str(stack),
        )
    if stack.shard >= teams[team].serving_shards:
        raise SpecError(
            [
                Problem(
                    "stack",
                    f"team {team!r} has serving_shards={teams[team].serving_shards} in "
                    f"stacks/{env}.py: shards 0 to {teams[team].serving_shards - 1}, "
                    f"not {stack.shard}",
                )
            ],
            source=str(stack),
        )

    # --- the platform: one reference, one validated contract -------------------------------------
    reference = pulumi.StackReference(
        f"mlplat-{env}-platform", stack_name=platform_reference_name(env)
    )
    contract = read_contract(reference, platform_stack(env))
    cluster = ContractCluster(
        f"mlplat-{env}-{team}-k8s", contract, reference.require_output(KUBECONFIG_OUTPUT)
    )
    platform = PlatformView.from_contract(contract, cluster, team, spec)

    # --- serving: the team's execution role, endpoints and EKS models -----------------------------
    role = team_execution_role(
        spec,
        team,
        account=contract.apply(lambda c: c.account),
        kms_key_arn=platform.kms_key_arn,
        artifacts_bucket_arn=platform.artifacts_bucket_arn,
        capture_bucket_arn=contract.apply(lambda c: c.capture_bucket_arn),
        permissions_boundary=platform.permissions_boundary,
    )
    endpoints = build_team_serving(spec, team, platform, execution_role_arn=role.arn, stack=stack)

    # --- lifecycle: the team's shared wiring in its first shard, each model's in the model's -----
    build_team_lifecycle(
        spec,
        team,
        LifecyclePlatform(
            region=spec.settings.region,
            account=contract.apply(lambda c: c.account),
            kms_key_arn=platform.kms_key_arn,
            artifacts_bucket=platform.artifacts_bucket,
            artifacts_bucket_arn=platform.artifacts_bucket_arn,
            capture_bucket=platform.capture_bucket,
            capture_bucket_arn=contract.apply(lambda c: c.capture_bucket_arn),
            registry_table=platform.registry.name,
            # The team's topic; a platform from before team topics: the environment's.
            alarm_topic_arn=contract.apply(
                lambda c: c.team_alert_topic_arns.get(team, c.alerts_topic_arn)
            ),
            permissions_boundary=platform.permissions_boundary,
        ),
        shared=stack.shard == 0,
        holds=holds_model(spec, team, stack),
    )

    # --- monitoring: the shard's models' AMP alert rules, in the platform's workspace -------------
    if spec.settings.monitoring.prometheus:
        shards = teams[team].serving_shards
        TeamRuleNamespaces(
            f"mlplat-{env}-{team}-{stack.shard}-rules",
            environment=env,
            team=team,
            shard=stack.shard,
            models=spec.models,
            shard_models=[
                model
                for model in spec.models_served_by("eks")
                if model.team == team and stack.serves(team, model.name, shards)
            ],
            scrape_interval=spec.settings.monitoring.scrape_interval_seconds,
            workspace_id=contract.apply(_workspace_id),
        )

    # --- observability: the shard's dashboard and endpoint alarms --------------------------------
    Observability(
        team_dashboard_name(env, team, stack.shard),
        region=spec.settings.region,
        endpoints=monitored(endpoints),
        alarm_topic_arn=contract.apply(lambda c: c.alerts_topic_arn),
        # The team's own topic where the platform exports one (contracts before it had none).
        team_topic_arns={
            team: contract.apply(lambda c: c.team_alert_topic_arns.get(team, c.alerts_topic_arn))
        },
    )

    pulumi.export("executionRole", role.arn)
    pulumi.export("endpoints", [endpoint.endpoint.name for endpoint in endpoints])


def _workspace_id(contract) -> str:
    if contract.prometheus is None:
        raise ContractError(
            f"stack {platform_stack(contract.environment)}: no prometheus in its contract while "
            f"stacks/{contract.environment}.py turns mlplat:monitoring.prometheus on: deploy the "
            "platform stack first"
        )
    return contract.prometheus.workspace_id
