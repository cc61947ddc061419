"""Layered scale benchmark: N synthetic models over T teams, one platform + T serving stacks.

    python benchmarks/layers_scale.py --models 1000 --teams 10 --json

For the single stack and for each layered stack: its resources and its offline preview seconds,
and, for each layered stack, the typed-registration floor (the captured graph registered again
through the provider SDKs' generated classes, as ``preview_scale.py --typed-floor`` does). Then a
model change (one model's version raised): the resources of the stack the engine previews for it
(the single stack, or its team's serving stack), how many of them change, and which stacks'
exports differ (must be the team's serving stack alone).

The models are ``preview_scale.py``'s mix, dealt to the teams in turn (model i -> team i mod T);
they and the T teams replace dev's in this process only (config stays dev's). Each team declares
``serving_shards = ceil(its models / --models-per-shard)`` (50 by default: a team's serving layer
in shards of about 50 models, which is what the ``stack-resource-budget`` rule asks of the worst
case of the mix, 15 resources per GPU model); ``--models-per-shard 0`` gives every team one stack.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from preview_scale import STACK, _timed, replay, synthetic_models  # noqa: E402

GOAL_RESOURCES_PER_STACK = 1500  # issue 13: no stack above this at 1,000 models


def team_names(count: int) -> list[str]:
    return [f"team-{index:02d}" for index in range(count)]


def shards_of(models: int, teams: int, per_shard: int) -> dict[str, int]:
    """Each team's ``serving_shards``: its models (dealt in turn) in shards of ``per_shard``."""
    names = team_names(teams)
    counts = {name: len(range(i, models, teams)) for i, name in enumerate(names)}
    return {
        name: max(1, math.ceil(n / per_shard)) if per_shard else 1 for name, n in counts.items()
    }


def install_layered_stack(
    models: list[dict[str, Any]], teams: int, shards: dict[str, int] | None = None
) -> None:
    """Make ``stacks.dev`` serve ``models`` owned by ``teams`` synthetic teams."""
    from infra.declarations import Team

    names = team_names(teams)
    module = types.ModuleType(f"stacks.{STACK}", f"{teams} teams, {len(models)} synthetic models")
    module.teams = [
        Team(
            name=name,
            monthly_budget_usd=50000,
            quota={"cpu": 512, "memory_gib": 2048, "gpus": 8, "pods": 1000},
            serving_shards=(shards or {}).get(name, 1),
        )
        for name in names
    ]
    module.models = [model | {"team": names[i % teams]} for i, model in enumerate(models)]
    sys.modules[f"stacks.{STACK}"] = module


def _without_reads(capture):
    """The capture without read resources (a StackReference is read, not registered)."""
    return dataclasses.replace(
        capture, registrations=[r for r in capture.registrations if not r.external]
    )


def _inputs_by_urn(capture) -> dict[str, Any]:
    return {r.urn: (r.inputs, r.parent, r.provider, r.protect) for r in capture.registrations}


def measure(count: int, teams: int, per_shard: int = 50) -> dict[str, Any]:
    from infra.layers import layered_stacks, platform_stack
    from infra.loader import read_stack_config
    from mlplat.offline.engine import capture_stack, stack_outputs

    config = read_stack_config(STACK)
    models = synthetic_models(count)
    install_layered_stack(models[:teams], teams)
    capture_stack(STACK, config)  # warm-up: imports and SDK start-up are in no measurement

    shards = shards_of(count, teams, per_shard)
    install_layered_stack(models, teams, shards)
    single, single_seconds, _ = _timed(lambda: capture_stack(STACK, config))
    platform, platform_seconds, _ = _timed(lambda: capture_stack(platform_stack(STACK), config))
    outputs = stack_outputs(platform)
    stacks: dict[str, dict[str, Any]] = {}
    captures = {platform.stack: platform}
    for stack in layered_stacks(STACK, team_names(teams), shards)[1:]:
        captures[stack], seconds, _ = _timed(
            lambda stack=stack: capture_stack(stack, config, platform_outputs=outputs)
        )
        stacks[stack] = {"seconds": seconds}
    stacks[platform.stack] = {"seconds": platform_seconds}
    for stack, capture in captures.items():
        _, floor, _ = _timed(lambda capture=capture: replay(_without_reads(capture), typed=True))
        stacks[stack] |= {
            "resources": len(capture.registrations),
            "typed_floor_seconds": floor,
        }

    # A model change: the first model of team-00 one version up; every layer previewed again.
    changed = [dict(m) for m in models]
    changed[0]["version"] = changed[0]["version"] + 1
    install_layered_stack(changed, teams, shards)
    after_single = capture_stack(STACK, config)
    after_platform = capture_stack(platform_stack(STACK), config)
    after = {platform.stack: after_platform} | {
        stack: capture_stack(stack, config, platform_outputs=stack_outputs(after_platform))
        for stack in captures
        if stack != platform.stack
    }
    differing = sorted(
        stack
        for stack in captures
        if _inputs_by_urn(captures[stack]) != _inputs_by_urn(after[stack])
    )
    # The stack the engine previews for the change: the shard of team-00 that holds the model.
    team_stack = differing[0] if len(differing) == 1 else layered_stacks(STACK, team_names(1))[1]

    def changed_count(before, later) -> int:
        a, b = _inputs_by_urn(before), _inputs_by_urn(later)
        return sum(1 for urn in a.keys() | b.keys() if a.get(urn) != b.get(urn))

    serving = [s for s in stacks if s != platform.stack]
    largest = max(serving, key=lambda s: stacks[s]["resources"])
    return {
        "models": count,
        "teams": teams,
        "single": {"resources": len(single.registrations), "seconds": round(single_seconds, 3)},
        "platform": _rounded(stacks[platform.stack]),
        "largest_team": {"stack": largest} | _rounded(stacks[largest]),
        "serving_resources_mean": round(statistics.mean(stacks[s]["resources"] for s in serving)),
        "serving_seconds_mean": round(statistics.mean(stacks[s]["seconds"] for s in serving), 3),
        "max_resources_per_stack": max(s["resources"] for s in stacks.values()),
        "goal_resources_per_stack": GOAL_RESOURCES_PER_STACK,
        "headroom_resources": GOAL_RESOURCES_PER_STACK
        - max(s["resources"] for s in stacks.values()),
        "models_per_shard": per_shard,
        "serving_shards": shards,
        "model_change": {
            "single_stack_previewed": len(after_single.registrations),
            "single_stack_changed": changed_count(single, after_single),
            "layered_stack_previewed": len(after[team_stack].registrations),
            "layered_stack_changed": changed_count(captures[team_stack], after[team_stack]),
            "stacks_changed": differing,
        },
        "stacks": {stack: _rounded(values) for stack, values in sorted(stacks.items())},
    }


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {key: round(v, 3) if isinstance(v, float) else v for key, v in values.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, required=True, help="Number of synthetic models.")
    parser.add_argument("--teams", type=int, default=10, help="Teams the models are dealt to.")
    parser.add_argument(
        "--models-per-shard",
        type=int,
        default=50,
        help="Each team's serving_shards is ceil(its models / this); 0: one stack per team.",
    )
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    args = parser.parse_args(argv)
    if args.models < args.teams or args.teams < 1:
        parser.error("--teams must be at least 1 and --models at least --teams")
    if args.models_per_shard < 0:
        parser.error("--models-per-shard must be 0 or more")
    result = measure(args.models, args.teams, args.models_per_shard)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
