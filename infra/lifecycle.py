"""Composes a team's model lifecycle (components/lifecycle) in its serving layer: the single
stack builds it for every team, a team's serving stacks for their own team. The team's shared
wiring (schedule group, roles, pipelines, drift schedules, promotion) lives in its first shard;
each model's own resources in the shard that holds the model (``holds``), so a change to one
model touches one stack."""

from __future__ import annotations

from collections.abc import Callable

from components.lifecycle.team_lifecycle import (
    LifecycleConfig,
    LifecyclePlatform,
    ModelLifecycle,
    TeamLifecycle,
    named_links,
)
from infra.declarations import EnvironmentSpec


def build_team_lifecycle(
    spec: EnvironmentSpec,
    team: str,
    platform: LifecyclePlatform,
    *,
    shared: bool = True,
    holds: Callable[[str], bool] = lambda model: True,
) -> TeamLifecycle | None:
    """``shared``: build the team's shared wiring here; ``holds(model name)``: build that model's
    own resources here. None when the shared wiring is not built here or none of the team's
    models declares monitoring or retraining."""
    models = [
        model
        for model in spec.models
        if model.team == team and (model.monitoring or model.retraining)
    ]
    if not models:
        return None
    settings = spec.settings
    config = LifecycleConfig(
        environment=spec.name.value,
        image=settings.lifecycle.image,
        github_repository=settings.ci.github_repository,
        github_token_secret=settings.lifecycle.github_token_secret,
    )
    name = f"mlplat-{spec.name.value}-{team}-lifecycle"
    lifecycle = (
        TeamLifecycle(name, team=team, models=models, config=config, platform=platform)
        if shared
        else None
    )
    links = (
        lifecycle.links() if lifecycle else named_links(config.environment, team, models, platform)
    )
    for model in sorted(models, key=lambda m: m.name):
        if holds(model.name):
            ModelLifecycle(name, model=model, config=config, platform=platform, links=links)
    return lifecycle
