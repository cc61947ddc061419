"""Declared-looking EKS models in any number, for the scale benchmark and the tests."""

from __future__ import annotations

from infra.declarations import ModelDeclaration


def eks_model(name: str, team: str = "growth", *, gpus: int = 0, max_replicas: int = 4):
    return ModelDeclaration(
        name=name,
        version=1,
        team=team,
        framework="sklearn",
        framework_version="1.9-0",
        artifact=f"models:/{name}/1",
        serving="eks",
        resources={"memory_mb": 1024, "gpus": gpus},
        scaling={"min_instances": 1, "max_instances": max_replicas},
        monthly_budget_usd=100,
    )


def fleet(count: int, *, teams: int = 10, gpu_every: int = 10) -> list[ModelDeclaration]:
    """``count`` models over ``teams`` teams; every ``gpu_every``-th one uses a GPU."""
    return [
        eks_model(f"model-{i:04d}", f"team-{i % teams:02d}", gpus=int(i % gpu_every == 0))
        for i in range(count)
    ]
