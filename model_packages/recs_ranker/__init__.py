"""Ranks recommendation candidates; a microservice on EKS that tolerates spot interruptions."""

from infra.declarations import ModelDeclaration, Retraining
from infra.declarations.events import PredictionEvents

model = ModelDeclaration(
    name="recs-ranker",
    version=4,
    team="growth",
    description="Pointwise gradient-boosted ranker over candidate features.",
    framework="sklearn",
    framework_version="1.9-0",
    # An MLflow model committed with the package (model_packages/build_examples.py makes it);
    # a registry URI such as "models:/recs-ranker/4" works too, with MLFLOW_TRACKING_URI set.
    artifact="model_packages/recs_ranker/mlflow_model",
    serving="eks",
    resources={"memory_mb": 2048, "cpu": "1"},
    scaling={"min_instances": 2, "max_instances": 8, "target_cpu_percent": 60},
    accepts_spot=True,
    monthly_budget_usd=300,
    # Every scored candidate as an event on the team's topic, where the environment has Kafka
    # (staging, prod): about 1,000 requests a minute of 20 candidates in prod's busy hours.
    events=PredictionEvents(monthly_events=30_000_000),
    # On EKS (no data capture, so no drift monitoring): retrained monthly, on demand.
    retraining=Retraining(
        data="s3://example-org-ml-data/growth/recs/train/",
        metric="ndcg",
        minimum=0.3,
        on_drift=False,
        schedule="cron(0 3 1 * ? *)",
        spot=False,
        checkpoints=False,
    ),
)
