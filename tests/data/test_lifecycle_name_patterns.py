"""A team deployer's lifecycle name patterns: its own names match, shortened or not (events.bounded
keeps a long name's head and adds a digest), and a team whose name extends it does not."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest

from components.identity_policies import LifecycleScope
from components.lifecycle.events import bounded

SHAPES = ("retrain-*", "promote", "github", "dispatch")


def _patterns(environment: str, team: str) -> tuple[str, ...]:
    scope = LifecycleScope(
        sid_prefix="Team",
        region="us-east-1",
        account="123456789012",
        name_prefix=f"mlplat-{environment}-{team}-",
        role_pattern="unused",
        schedule_groups="unused",
        exact_names=True,
    )
    return scope.names(*SHAPES)


def _names(environment: str, team: str, model: str) -> list[str]:
    prefix = f"mlplat-{environment}-{team}"
    return [
        bounded(f"{prefix}-{kind}")
        for kind in (f"retrain-{model}", "promote", "github", "dispatch")
    ]


@pytest.mark.parametrize("team", ["fraud", "t" * 20, "a" * 34])  # 34: the longest team name
@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_every_lifecycle_name_of_the_team_matches(environment, team):
    patterns = _patterns(environment, team)
    for name in _names(environment, team, "a-model-with-a-rather-long-name"):
        assert any(fnmatchcase(name, p) for p in patterns), (name, patterns)


def test_a_team_whose_name_extends_another_is_not_reached():
    patterns = _patterns("dev", "growth")
    for name in _names("dev", "growth-ops", "churn"):
        assert not any(fnmatchcase(name, p) for p in patterns), name
