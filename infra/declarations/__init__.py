"""Typed declarations: models, teams and environments, and the one error type for bad input."""

from infra.declarations.environment import (
    EnvironmentName,
    EnvironmentSettings,
    EnvironmentSpec,
    Team,
    TeamQuota,
)
from infra.declarations.errors import Problem, SpecError
from infra.declarations.lifecycle import Monitoring, Retraining
from infra.declarations.model import (
    ModelDeclaration,
    ModelOverride,
    Resources,
    Scaling,
    ServingTarget,
)

__all__ = [
    "EnvironmentName",
    "EnvironmentSettings",
    "EnvironmentSpec",
    "ModelDeclaration",
    "ModelOverride",
    "Monitoring",
    "Problem",
    "Resources",
    "Retraining",
    "Scaling",
    "ServingTarget",
    "SpecError",
    "Team",
    "TeamQuota",
]
