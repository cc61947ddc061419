"""Composes a team's model lifecycle (components/lifecycle) in its serving layer: the single
stack builds it for every team, a team's serving stack for its own team."""

from __future__ import annotations

from components.lifecycle.team_lifecycle import LifecycleConfig, LifecyclePlatform, TeamLifecycle
from infra.declarations import EnvironmentSpec


def build_team_lifecycle(
    spec: EnvironmentSpec, team: str, platform: LifecyclePlatform
) -> TeamLifecycle | None:
    """None when none of the team's models declares monitoring or retraining."""
    models = [
        model
        for model in spec.models
        if model.team == team and (model.monitoring or model.retraining)
    ]
    if not models:
        return None
    settings = spec.settings
    return TeamLifecycle(
        f"mlplat-{spec.name.value}-{team}-lifecycle",
        team=team,
        models=models,
        config=LifecycleConfig(
            environment=spec.name.value,
            image=settings.lifecycle.image,
            github_repository=settings.ci.github_repository,
            github_token_secret=settings.lifecycle.github_token_secret,
        ),
        platform=platform,
    )
