"""Which stacks an environment has, and what a stack's name says about it.

Three shapes of stack name (Pulumi allows letters, digits, ``-``, ``_`` and ``.`` in a stack name,
up to 100 characters; pulumi/pulumi#1381 added the period):

- ``<env>``                  the single stack: both layers in one (small installs; the default)
- ``<env>.platform``         the platform layer: network, cluster, data, keys, identity, budgets
- ``<env>.serving.<team>``   one team's serving layer: its models and what serves them
- ``<env>.serving.<team>.<n>`` shard ``n`` (1, 2, ...) of a team's serving layer, when the team
                             declares ``serving_shards`` > 1; shard 0 is ``<env>.serving.<team>``

A team name is a DNS-1123 label, so it has no period: the split is never ambiguous. Every layer
of an environment reads the environment's declarations (``stacks/<env>.py``, ``Pulumi.<env>.yaml``).
Only this module knows the naming; the policy pack reads the environment with ``environment_of``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

ENVIRONMENTS = ("dev", "staging", "prod")
_SEPARATOR = "."
_NAME = re.compile(
    r"^(?P<env>[a-z]+)(?:\.(?P<layer>platform)|\.(?P<serving>serving)\.(?P<team>[a-z0-9-]+)"
    r"(?:\.(?P<shard>[1-9][0-9]{0,2}))?)?$"
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
    shard: int = 0  # which of the team's serving shards (0: ``<env>.serving.<team>``)

    def __str__(self) -> str:
        if self.layer is Layer.SINGLE:
            return self.environment
        if self.layer is Layer.PLATFORM:
            return platform_stack(self.environment)
        return serving_stack(self.environment, self.team or "", self.shard)

    @property
    def builds_platform(self) -> bool:
        return self.layer is not Layer.SERVING

    def serves(self, team: str, unit: str, shards: int) -> bool:
        """Whether this stack builds ``unit`` (an endpoint, or a model served alone) of ``team``,
        a team whose serving layer has ``shards`` shards."""
        if self.layer is Layer.SINGLE:
            return True
        return (
            self.layer is Layer.SERVING
            and self.team == team
            and shard_of(unit, shards) == self.shard
        )


def platform_stack(environment: str) -> str:
    return f"{environment}{_SEPARATOR}{Layer.PLATFORM}"


def serving_stack(environment: str, team: str, shard: int = 0) -> str:
    base = f"{environment}{_SEPARATOR}{Layer.SERVING}{_SEPARATOR}{team}"
    return f"{base}{_SEPARATOR}{shard}" if shard else base


def team_serving_stacks(environment: str, team: str) -> tuple[str, str]:
    """Every serving stack of ``team``, as two glob patterns (IAM's ``*``): shard 0's name exactly,
    and its further shards. No other team's stack matches: ``fraud``'s patterns never reach
    ``fraud-ops`` (a team name has no period)."""
    own = serving_stack(environment, team)
    return own, f"{own}{_SEPARATOR}*"


def shard_of(unit: str, shards: int) -> int:
    """The shard of a team's serving layer that holds ``unit``: rendezvous (highest random weight)
    hashing, so the answer depends on the unit's name alone, and raising ``shards`` from n to n+1
    moves only the units the new shard wins (about 1/(n+1) of them), never one between old shards.
    Units are what must share a stack: a multi-model endpoint with its models, or an EKS model."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")

    def weight(shard: int) -> bytes:
        return hashlib.sha256(f"{shard}:{unit}".encode()).digest()

    return max(range(shards), key=weight)


def parse_stack(name: str) -> StackName:
    """``dev.serving.fraud`` -> StackName("dev", SERVING, "fraud"). Raises ValueError when the name
    has none of the three shapes (the environment itself is validated by the loader)."""
    match = _NAME.match(name)
    if not match:
        raise ValueError(
            f"{name!r} is not a stack name: use <env>, <env>.platform or <env>.serving.<team>"
        )
    if match["team"]:
        return StackName(match["env"], Layer.SERVING, match["team"], int(match["shard"] or 0))
    return StackName(match["env"], Layer.PLATFORM if match["layer"] else Layer.SINGLE)


def environment_of(stack: str) -> str:
    """The environment a stack belongs to, for any stack name (``prod.serving.x`` -> ``prod``)."""
    return stack.split(_SEPARATOR, 1)[0]


def is_serving_stack(stack: str) -> bool:
    try:
        return parse_stack(stack).layer is Layer.SERVING
    except ValueError:
        return False


def layered_stacks(
    environment: str, teams: Iterable[str], shards: Mapping[str, int] | None = None
) -> list[str]:
    """An environment's layered stacks, in deployment order: the platform first, then each team's
    serving shards (``shards``: team -> its ``serving_shards``, 1 when absent)."""
    shards = shards or {}
    return [platform_stack(environment)] + [
        serving_stack(environment, team, shard)
        for team in sorted(teams)
        for shard in range(shards.get(team, 1))
    ]
