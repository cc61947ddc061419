"""Ranks recommendation candidates; a microservice on EKS that tolerates spot interruptions."""

from infra.declarations import ModelDeclaration

model = ModelDeclaration(
    name="recs-ranker",
    version=4,
    team="growth",
    framework="pytorch",
    framework_version="2.1",
    artifact="models:/recs-ranker/4",
    serving="eks",
    resources={"memory_mb": 2048, "cpu": "1"},
    scaling={"min_instances": 2, "max_instances": 8, "target_cpu_percent": 60},
    accepts_spot=True,
    monthly_budget_usd=300,
)
