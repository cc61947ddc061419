"""staging: production's models at reduced scale, for release checks."""

from infra.declarations import Team
from model_packages import (
    chargeback_risk,
    churn_predictor,
    fraud_scorer,
    product_embedder,
    recs_ranker,
)

teams = [
    Team(
        name="fraud",
        monthly_budget_usd=2000,
        quota={"cpu": 16, "memory_gib": 64, "gpus": 0},
        # What its models read (training data): the team's boundary grants these prefixes only.
        data={"read": ("s3://example-org-ml-data/fraud/",)},
    ),
    Team(
        name="growth",
        monthly_budget_usd=4000,
        quota={"cpu": 32, "memory_gib": 128, "gpus": 2},
        data={
            "read": ("s3://example-org-ml-data/growth/", "s3://acme-growth-warehouse/subscribers/"),
            "write": ("s3://acme-growth-warehouse/churn-scores/",),
        },
        # Its Spark namespace: every batch job of the team at once, with room for one more.
        batch_quota={"cpu": 24, "memory_gib": 48, "pods": 16},
    ),
]

models = [
    fraud_scorer.model,
    chargeback_risk.model,
    churn_predictor.model,
    product_embedder.model,
    recs_ranker.model,
]
