"""Serving economics benchmark: what cost-aware placement costs against two yardsticks, and how
far one model's change reaches.

    python benchmarks/placement_economics.py --models 50 150 500 --json

For each size, a generated fleet (``generated_fleet``: a fixed seed, a skewed size mix: most
models 100-500 MB, some 1-4 GB, a few 8-12 GB, a few GPU models on Triton; several teams, two
CPU frameworks, mixed scaling and capture settings, a few declared minimum and exact types) is
placed from an empty lock, as ``mlplat models place`` does for a new stack, and priced per month
at minimum scale from the price snapshot (us-east-1):

- ``placed``: the placement's endpoints, each at its instance type times its minimum count;
- ``lower_bound`` (a): per group that AWS lets share an endpoint (team, image, CPU/GPU), the
  cheapest packing over every instance type the group's models may run on, solved as an integer
  program (``exact_bound``: HiGHS through scipy's ``milp``; its dual bound, which is the optimum
  when ``bound_proven`` is true) — no placement can cost less; ``closed_form_bound`` is the
  quick bound of ``packing.lower_bound`` (weaker where minimum counts or exact types differ);
- ``one_per_model`` (b): one endpoint per model on the cheapest type it may run on that holds it;
- ``fixed_types``: what placement cost before it chose types: every model on its declared type
  (or ml.m5.xlarge / ml.g5.xlarge), the type part of the group, packed by the same packer.

Blast radius: for ``--changes`` models of each fleet, the fleet is placed through its lock after
adding a model, removing it, and changing it (memory, scaling, capture: each in turn), and the
benchmark counts the other models that moved and the endpoints hosting another model whose type
or settings changed (``moved_others``, ``touched_endpoints``: both must be 0).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CPU_FRAMEWORKS = (("sklearn", "1.2-1"), ("xgboost", "1.7-1"))
CONFIG = {  # Pulumi.<env>.yaml values as the loader reads them (JSON strings); serving defaults
    "aws:region": "us-east-1",
    "mlplat:budget": json.dumps({"monthlyBudgetUsd": 10**6, "alertEmails": ["ops@example.com"]}),
    "mlplat:ci": json.dumps({"githubRepository": "example-org/mlplat"}),
}


def generated_model(rng: random.Random, index: int, teams: list[str]) -> dict[str, Any]:
    """One declaration (as data) drawn from the skewed mix."""
    draw = rng.random()
    gpu = draw >= 0.97
    if gpu:
        memory = rng.randint(1_000, 6_000)
    elif draw < 0.70:
        memory = rng.randint(100, 500)
    elif draw < 0.93:
        memory = rng.randint(1_000, 4_000)
    else:
        memory = rng.randint(8_000, 12_000)
    framework, version = ("pytorch", "2.3") if gpu else rng.choice(CPU_FRAMEWORKS)
    min_instances = rng.choices((1, 2), weights=(4, 1))[0]
    data: dict[str, Any] = {
        "name": f"model-{index:04d}",
        "version": 1,
        "team": rng.choice(teams),
        "framework": framework,
        "framework_version": version,
        "artifact": "model_packages/churn_predictor/mlflow_model",  # validated, never built
        "serving": "sagemaker-mme",
        "resources": {"memory_mb": memory, "gpus": int(gpu)},
        "scaling": {
            "min_instances": min_instances,
            "max_instances": min_instances + rng.choice((1, 2, 4)),
            "target_invocations_per_instance": rng.choice((500, 1000, 2000)),
        },
        "data_capture_percent": rng.choices((0, 10, 100), weights=(1, 6, 1))[0],
        "monthly_budget_usd": 10_000,
    }
    if gpu:
        data["instance_type"] = "ml.g4dn.xlarge"  # a minimum: any MME GPU type at least this
    elif memory > 7_000 and rng.random() < 0.5:
        data["instance_type"] = "ml.m5.2xlarge"  # the large ones often declare a larger type
    elif rng.random() < 0.03 and memory <= 11_000:  # what ml.m5.xlarge leaves to models
        # (the draw comes first, so the stream, and the recorded fleets, stay as they were)
        data |= {"instance_type": "ml.m5.xlarge", "instance_type_mode": "exact"}
    return data


def generated_fleet(count: int, seed: int = 14):
    """An environment spec (dev's region and settings) serving ``count`` generated models."""
    from infra.loader import parse_environment

    rng = random.Random(seed)
    teams = [f"team-{letter}" for letter in "abcdefgh"[: max(3, min(8, count // 50))]]
    models = [generated_model(rng, index, teams) for index in range(count)]
    return parse_environment(
        "dev",
        teams=[{"name": team, "monthly_budget_usd": 100_000} for team in teams],
        models=models,
        config=CONFIG,
    )


def costs(spec) -> dict[str, float]:
    from components.serving.packing import Piece, cheapest, lower_bound, pack
    from components.serving.placement import (
        HOURS_PER_MONTH,
        PlacementLock,
        group_key,
        monthly_cost,
        offers,
        place,
    )
    from infra.declarations import ServingTarget
    from infra.declarations.instance_choice import allowed_instance_types

    available = offers(spec)
    region = spec.settings.region
    groups: dict[Any, list[Piece]] = {}
    fixed: dict[Any, list[Piece]] = {}
    one_per_model = 0.0
    for model in spec.models_served_by(ServingTarget.SAGEMAKER_MME):
        allowed = frozenset(t.name for t in allowed_instance_types(model, region))
        holding = [t for t in allowed if available[t].capacity_mb >= model.resources.memory_mb]
        one_per_model += available[cheapest(holding, available)].hourly_usd * (
            model.scaling.min_instances
        )
        memory, copies = model.resources.memory_mb, model.scaling.min_instances
        piece = Piece(model.name, memory, allowed, copies)
        groups.setdefault(group_key(model, spec), []).append(piece)
        declared = model.effective_instance_type
        fixed.setdefault((group_key(model, spec), declared), []).append(
            Piece(model.name, memory, frozenset({declared}), copies)
        )
    started = time.process_time()
    lock = place(spec, PlacementLock())
    place_cpu_seconds = time.process_time() - started
    placed = monthly_cost(lock, spec)
    bound, proven = 0.0, True
    for pieces in groups.values():
        records = [lock.endpoints[e] for e in {lock.models[piece.name] for piece in pieces}]
        heuristic = sum(
            available[r.instance_type].hourly_usd * r.settings.min_instances for r in records
        )
        group_bound, optimal = exact_bound(pieces, available, heuristic)
        bound += group_bound
        proven = proven and optimal
    closed_form = sum(lower_bound(pieces, available) for pieces in groups.values())
    max_models = spec.settings.serving.max_models_per_endpoint
    fixed_types = sum(
        b.hourly(available)
        for pieces in fixed.values()
        for b in pack(pieces, available, max_models)
    )
    return {
        "placed": round(placed, 2),
        "lower_bound": round(bound * HOURS_PER_MONTH, 2),
        "bound_proven": proven,
        "closed_form_bound": round(closed_form * HOURS_PER_MONTH, 2),
        "one_per_model": round(one_per_model * HOURS_PER_MONTH, 2),
        "fixed_types": round(fixed_types * HOURS_PER_MONTH, 2),
        "place_cpu_seconds": round(place_cpu_seconds, 2),
    }


def exact_bound(pieces, offers, upper: float, seconds: float = 20) -> tuple[float, bool]:
    """A lower bound on the hourly cost of any packing of ``pieces`` (and whether it is the
    proven optimum), from an integer program: bin j picks at most one (type, count) with y, piece
    i goes to one bin with x, only to a bin whose type it allows and whose count is at least its
    own, within the type's capacity. A packing costing at most ``upper`` (a known one) has at
    most ``upper / cheapest bin`` bins, so that many bins lose no solution; bins are used in
    order (symmetry). With a time limit the solver's dual bound is still a valid bound."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    types = sorted({t for p in pieces for t in p.allowed if math.isfinite(offers[t].hourly_usd)})
    levels = sorted({p.copies for p in pieces})
    choices = [(t, c) for t in types for c in levels]
    cheapest_bin = min(offers[t].hourly_usd for t in types) * levels[0]
    bins = min(len(pieces), int(upper / cheapest_bin + 1e-9))
    n, k = len(pieces), len(choices)
    size = n * bins + bins * k

    def x(i: int, j: int) -> int:
        return i * bins + j

    def y(j: int, c: int) -> int:
        return n * bins + j * k + c

    cost = np.zeros(size)
    rows = lil_matrix((n + 3 * bins + n * bins, size))
    low, high = [], []

    def row(lo: float, hi: float) -> int:
        low.append(lo)
        high.append(hi)
        return len(low) - 1

    for i in range(n):  # every piece in exactly one bin
        r = row(1, 1)
        for j in range(bins):
            rows[r, x(i, j)] = 1
    for j in range(bins):
        one = row(0, 1)  # at most one (type, count) per bin
        capacity = row(-np.inf, 0)  # what it holds fits its type
        for c, (instance_type, count) in enumerate(choices):
            cost[y(j, c)] = offers[instance_type].hourly_usd * count
            rows[one, y(j, c)] = 1
            rows[capacity, y(j, c)] = -offers[instance_type].capacity_mb
        for i, piece in enumerate(pieces):
            rows[capacity, x(i, j)] = piece.memory_mb
        if j + 1 < bins:
            ordered = row(-np.inf, 0)  # bin j+1 used only if bin j is
            for c in range(k):
                rows[ordered, y(j, c)] = -1
                rows[ordered, y(j + 1, c)] = 1
    for i, piece in enumerate(pieces):  # only onto a type it allows, at its count or more
        for j in range(bins):
            r = row(-np.inf, 0)
            rows[r, x(i, j)] = 1
            for c, (instance_type, count) in enumerate(choices):
                if instance_type in piece.allowed and count >= piece.copies:
                    rows[r, y(j, c)] = -1
    matrix = rows[: len(low)].tocsr()
    result = milp(
        cost,
        constraints=LinearConstraint(matrix, low, high),
        integrality=np.ones(size),
        bounds=Bounds(0, 1),
        options={"time_limit": seconds},
    )
    return float(result.mip_dual_bound), result.status == 0


def blast_radius(spec, changes: int, seed: int = 14) -> dict[str, int]:
    """The most other models moved and other models' endpoints touched by one change."""
    from components.serving.placement import PlacementLock, place
    from infra.declarations import ServingTarget

    lock = place(spec, PlacementLock())
    models = spec.models_served_by(ServingTarget.SAGEMAKER_MME)
    rng = random.Random(seed)
    worst = {"moved_others": 0, "touched_endpoints": 0, "changes": 0}
    for model in rng.sample(list(models), min(changes, len(models))):
        for changed in variants(model):
            after = place(with_models(spec, changed, model.name), lock)
            moved, touched = reach(lock, after, model.name)
            worst["moved_others"] = max(worst["moved_others"], moved)
            worst["touched_endpoints"] = max(worst["touched_endpoints"], touched)
            worst["changes"] += 1
    return worst


def variants(model, region: str = "us-east-1", fraction: Decimal = Decimal("0.7")):
    """The model removed (None), added anew under another name, and changed in each setting
    (grown: threefold, or to the most the largest type it may run on takes, still valid)."""
    from infra.declarations.instance_choice import allowed_instance_types, models_share_mb

    largest = max(models_share_mb(t, fraction) for t in allowed_instance_types(model, region))
    memory = max(model.resources.memory_mb, min(model.resources.memory_mb * 3, largest))
    scaling = model.scaling
    yield None
    yield model.model_copy(update={"name": f"{model.name}-new"})
    yield model.model_copy(
        update={"resources": model.resources.model_copy(update={"memory_mb": memory})}
    )
    yield model.model_copy(
        update={
            "scaling": scaling.model_copy(
                update={
                    "min_instances": scaling.min_instances + 1,
                    "max_instances": scaling.max_instances + 1,
                }
            )
        }
    )
    yield model.model_copy(update={"data_capture_percent": 0 if model.data_capture_percent else 50})


def with_models(spec, changed, name: str):
    """``spec`` with model ``name`` replaced by ``changed`` (None: removed; another name: added)."""
    kept = [m for m in spec.models if m.name != name or (changed and changed.name != name)]
    if changed is not None:
        kept = [m for m in kept if m.name != changed.name] + [changed]
    return spec.model_copy(update={"models": tuple(kept)})


def reach(before, after, changed: str) -> tuple[int, int]:
    """Other models whose endpoint differs; endpoints hosting another model whose record differs."""
    others = {m for m in before.models if not m.startswith(changed)}
    moved = sum(1 for m in others if after.models.get(m) != before.models[m])
    touched = {
        before.models[m]
        for m in others
        if after.endpoints.get(after.models.get(m, "")) != before.endpoints[before.models[m]]
    }
    return moved, len(touched)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, nargs="+", default=[50, 150, 500])
    parser.add_argument("--changes", type=int, default=20, help="models changed per fleet")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for count in args.models:
        spec = generated_fleet(count)
        row = {"models": count, **costs(spec), **blast_radius(spec, args.changes)}
        row["placed_over_bound"] = round(row["placed"] / row["lower_bound"], 3)
        row["placed_over_closed_form"] = round(row["placed"] / row["closed_form_bound"], 3)
        row["one_per_model_over_placed"] = round(row["one_per_model"] / row["placed"], 2)
        row["fixed_types_over_placed"] = round(row["fixed_types"] / row["placed"], 2)
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
