"""Which stacks an environment has, and what a stack's name says about it.

Three shapes of stack name (Pulumi allows letters, digits, ``-``, ``_`` and ``.`` in a stack name,
up to 100 characters; pulumi/pulumi#1381 added the period):

- ``<env>``                  the single stack: both layers in one (small installs; the default)
- ``<env>.platform``         the platform layer: network, cluster, data, keys, identity, budgets
- ``<env>.serving.<team>``   one team's serving layer: its models and what serves them

A team name is a DNS-1123 label, so it has no period: the split is never ambiguous. Every layer
of an environment reads the environment's declarations (``stacks/<env>.py``, ``Pulumi.<env>.yaml``).
Only this module knows the naming; the policy pack reads the environment with ``environment_of``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ENVIRONMENTS = ("dev", "staging", "prod")
_SEPARATOR = "."
_NAME = re.compile(
    r"^(?P<env>[a-z]+)(?:\.(?P<layer>platform)|\.(?P<serving>serving)\.(?P<team>[a-z0-9-]+))?$"
)


class Layer(StrEnum):
    SINGLE = "single"  # both layers in one stack
    PLATFORM = "platform"
    SERVING = "serving"


@dataclass(frozen=True)
class StackName:
    environment: str
    layer: Layer
    team: str | None = None

    def __str__(self) -> str:
        if self.layer is Layer.SINGLE:
            return self.environment
        if self.layer is Layer.PLATFORM:
            return platform_stack(self.environment)
        return serving_stack(self.environment, self.team or "")

    @property
    def builds_platform(self) -> bool:
        return self.layer is not Layer.SERVING

    def serves(self, team: str) -> bool:
        """Whether this stack builds ``team``'s serving layer."""
        return self.layer is Layer.SINGLE or (self.layer is Layer.SERVING and self.team == team)


def platform_stack(environment: str) -> str:
    return f"{environment}{_SEPARATOR}{Layer.PLATFORM}"


def serving_stack(environment: str, team: str) -> str:
    return f"{environment}{_SEPARATOR}{Layer.SERVING}{_SEPARATOR}{team}"


def parse_stack(name: str) -> StackName:
    """``dev.serving.fraud`` -> StackName("dev", SERVING, "fraud"). Raises ValueError when the name
    has none of the three shapes (the environment itself is validated by the loader)."""
    match = _NAME.match(name)
    if not match:
        raise ValueError(
            f"{name!r} is not a stack name: use <env>, <env>.platform or <env>.serving.<team>"
        )
    if match["team"]:
        return StackName(match["env"], Layer.SERVING, match["team"])
    return StackName(match["env"], Layer.PLATFORM if match["layer"] else Layer.SINGLE)


def environment_of(stack: str) -> str:
    """The environment a stack belongs to, for any stack name (``prod.serving.x`` -> ``prod``)."""
    return stack.split(_SEPARATOR, 1)[0]


def is_serving_stack(stack: str) -> bool:
    try:
        return parse_stack(stack).layer is Layer.SERVING
    except ValueError:
        return False


def layered_stacks(environment: str, teams: list[str]) -> list[str]:
    """An environment's layered stacks, in deployment order: the platform first."""
    return [platform_stack(environment)] + [serving_stack(environment, t) for t in sorted(teams)]
