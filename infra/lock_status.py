"""Whether a stack's committed placement lock is current, and what `mlplat models place` changes.

A preview with a stale lock places the new models in memory (it shows what `up` would create
after `models place`) and says so; a deployment refuses it, because what is deployed must be
what is committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.serving.placement import place, placement_lock_path, read_placement_lock
from components.serving.route_groups import route_lock_path, stale_route_lock
from infra.declarations import EnvironmentSpec, Problem, SpecError


@dataclass(frozen=True)
class LockDrift:
    stack: str
    placed: dict[str, str]  # model -> endpoint, new in the lock
    moved: dict[str, tuple[str, str]]  # model -> (locked endpoint, new endpoint)
    dropped: tuple[str, ...]  # in the lock, no longer served on an endpoint
    recorded: tuple[str, ...] = ()  # endpoints whose type or settings the lock lacks or differ
    resized: tuple[str, ...] = ()  # models whose memory differs from the lock's (v1: none kept)

    def __bool__(self) -> bool:
        return bool(self.placed or self.moved or self.dropped or self.recorded or self.resized)

    def describe(self) -> str:
        changes = [f"place {m} on {e}" for m, e in sorted(self.placed.items())]
        changes += [f"move {m} from {a} to {b}" for m, (a, b) in sorted(self.moved.items())]
        changes += [f"drop {m}" for m in self.dropped]
        changes += [f"record the instance type and settings of {e}" for e in self.recorded]
        changes += [f"record the memory of {m}" for m in self.resized]
        return (
            f"stacks/{self.stack}.placement.json is stale: `mlplat models place --stack "
            f"{self.stack}` would " + "; ".join(changes)
        )


def lock_drift(spec: EnvironmentSpec) -> LockDrift:
    stack = spec.name.value
    lock = read_placement_lock(stack)
    placed = place(spec, lock)
    locked, current = lock.models, placed.models
    return LockDrift(
        stack=stack,
        placed={m: e for m, e in current.items() if m not in locked},
        moved={m: (locked[m], e) for m, e in current.items() if m in locked and locked[m] != e},
        dropped=tuple(sorted(set(locked) - set(current))),
        recorded=tuple(
            sorted(e for e, record in placed.endpoints.items() if lock.endpoints.get(e) != record)
        ),
        resized=tuple(
            sorted(
                m
                for m, memory in placed.memory_mb.items()
                if m in lock.memory_mb and lock.memory_mb[m] != memory
            )
        ),
    )


def refuse_stale_lock(spec: EnvironmentSpec) -> None:
    """For deployments: a stale lock is a SpecError naming the file and what to run."""
    routes = stale_route_lock(spec)
    if routes:
        path = route_lock_path(spec.name.value).name
        raise SpecError(
            [Problem(path, f"{routes}. Run it, commit the lock, then deploy")],
            source=f"stacks/{path}",
        )
    drift = lock_drift(spec)
    if drift:
        path = placement_lock_path(drift.stack).name
        raise SpecError(
            [Problem(path, f"{drift.describe()}. Run it, commit the lock, then deploy")],
            source=f"stacks/{path}",
        )


def stale_lock_warning(stack: str) -> str | None:
    """For previews of ``stack`` (any layer of an environment, or ``<env>.*``) as committed: what
    is stale in its environment's locks, or None when current."""
    from infra.layers import environment_of
    from infra.loader import load_environment, read_stack_config

    environment = environment_of(stack)
    spec = load_environment(environment, read_stack_config(environment))
    drift = lock_drift(spec)
    stale = [text for text in (drift.describe() if drift else None, stale_route_lock(spec)) if text]
    if not stale:
        return None
    return (
        f"{'; '.join(stale)}. This preview places them in memory; `up` refuses a stale lock: "
        "run it and commit the lock"
    )
