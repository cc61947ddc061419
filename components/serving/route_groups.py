"""Which load balancer routes to which EKS model: each team's models share internal ALBs.

One Application Load Balancer per *route group* (an IngressGroup). A model takes one listener
rule (its path) and one target group (its Service) on its group's load balancer, and AWS allows
100 of each per load balancer, neither counting the default rule ("Rules per Application Load
Balancer (excluding default rules)": 100; "Target Groups per Application Load Balancer": 100, not
adjustable; https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html).
So a group holds at most ``GROUP_CAPACITY`` models and a team with more gets further groups.

Stability has the same answer as endpoint placement (``placement.py``): no assignment computed
from the declarations alone can both respect a capacity and never move a model when another is
added, so the assignment is remembered in the route lock, ``stacks/<env>.routes.json`` (written
by ``mlplat models place``). Models in the lock keep their group while it is their team's and has
room; new models go first-fit, in name order, into the team's groups by number, opening the
lowest free number when none has room. Moving a model to another load balancer would change its
URL (a DNS name per group), so this matters to callers within a TTL, not only to AWS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.declarations import EnvironmentSpec, ModelDeclaration
from infra.project import PROJECT_ROOT

RULES_PER_LOAD_BALANCER = 100  # excluding the listener's default rule
TARGET_GROUPS_PER_LOAD_BALANCER = 100
RULES_PER_MODEL = 1  # one path rule for the model's served version
TARGET_GROUPS_PER_MODEL = 1  # the model's Service
GROUP_CAPACITY = min(
    RULES_PER_LOAD_BALANCER // RULES_PER_MODEL,
    TARGET_GROUPS_PER_LOAD_BALANCER // TARGET_GROUPS_PER_MODEL,
)


@dataclass(frozen=True, order=True)
class RouteGroup:
    team: str
    number: int

    @property
    def label(self) -> str:
        """``<team>-<number>``: the lock's value, the Ingress name and the DNS label. Unique per
        environment: team names are DNS labels that cannot end in '-', so the digits after the
        last '-' are the number and the rest is the team."""
        return f"{self.team}-{self.number}"

    def ingress_group(self, environment: str) -> str:
        """The IngressGroup (``alb.ingress.kubernetes.io/group.name``): at most 63 characters
        of [a-z0-9-.] (the controller's rule); teams have at most 34 characters."""
        return f"mlplat-{environment}-{self.label}"

    @classmethod
    def parse(cls, label: str) -> RouteGroup:
        team, _, number = label.rpartition("-")
        if not team or not number.isdigit():
            raise ValueError(f"{label!r} is not <team>-<number>")
        return cls(team, int(number))


def route_lock_path(environment: str) -> Path:
    return PROJECT_ROOT / "stacks" / f"{environment}.routes.json"


def read_route_lock(environment: str) -> dict[str, str]:
    """Model -> route group label, as committed; empty when there is no lock yet."""
    path = route_lock_path(environment)
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text()).get("groups", {}))


def write_route_lock(environment: str, assignment: Mapping[str, RouteGroup]) -> Path:
    path = route_lock_path(environment)
    document = {
        "comment": "Which load balancer (route group) serves which EKS model; keeps routes stable. "
        f"Update with `mlplat models place --stack {environment}`.",
        "groups": {model: group.label for model, group in sorted(assignment.items())},
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def assign_route_groups(
    models: list[ModelDeclaration],
    previous: Mapping[str, str],
    capacity: int = GROUP_CAPACITY,
) -> dict[str, RouteGroup]:
    """Model name -> route group. Pure: the same models and lock give the same answer."""
    by_team: dict[str, list[ModelDeclaration]] = {}
    for model in sorted(models, key=lambda m: m.name):
        by_team.setdefault(model.team, []).append(model)
    assignment: dict[str, RouteGroup] = {}
    for team, members in sorted(by_team.items()):
        load: dict[int, int] = {}
        newcomers = []
        for model in members:
            kept = _locked_group(previous.get(model.name), team)
            if kept is not None and load.get(kept.number, 0) < capacity:
                assignment[model.name] = kept
                load[kept.number] = load.get(kept.number, 0) + 1
            else:
                newcomers.append(model)
        for model in newcomers:
            number = next(
                n for n in range(len(members) + len(load) + 1) if load.get(n, 0) < capacity
            )
            assignment[model.name] = RouteGroup(team, number)
            load[number] = load.get(number, 0) + 1
    return assignment


def _locked_group(label: str | None, team: str) -> RouteGroup | None:
    if label is None:
        return None
    try:
        group = RouteGroup.parse(label)
    except ValueError:
        return None
    return group if group.team == team else None  # a model that changed team is placed anew


def route_groups(
    spec: EnvironmentSpec, previous: Mapping[str, str] | None = None
) -> dict[str, RouteGroup]:
    """The environment's EKS models' groups, relative to its committed lock by default."""
    locked = read_route_lock(spec.name.value) if previous is None else previous
    return assign_route_groups(list(spec.models_served_by("eks")), locked)


def stale_route_lock(spec: EnvironmentSpec) -> str | None:
    """What ``mlplat models place`` would change in the committed route lock (None: current)."""
    locked = read_route_lock(spec.name.value)
    current = {model: group.label for model, group in route_groups(spec, locked).items()}
    if current == locked:
        return None
    changes = [f"route {m} on {g}" for m, g in sorted(current.items()) if m not in locked]
    changes += [
        f"move {m} from {locked[m]} to {g}"
        for m, g in sorted(current.items())
        if m in locked and locked[m] != g
    ]
    changes += [f"drop {m}" for m in sorted(set(locked) - set(current))]
    return (
        f"stacks/{spec.name.value}.routes.json is stale: `mlplat models place --stack "
        f"{spec.name.value}` would " + "; ".join(changes)
    )
