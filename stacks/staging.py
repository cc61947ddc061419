"""staging: production's models at reduced scale, for release checks."""

from infra.declarations import Team
from model_packages import (
    chargeback_risk,
    churn_predictor,
    fraud_scorer,
    product_embedder,
    recs_ranker,
)
from stacks import team_data

teams = [
    Team(
        name="fraud",
        monthly_budget_usd=2000,
        quota={"cpu": 16, "memory_gib": 64, "gpus": 0},
        data=team_data.FRAUD_DATA,
    ),
    Team(
        name="growth",
        monthly_budget_usd=4000,
        quota={"cpu": 32, "memory_gib": 128, "gpus": 2},
        data=team_data.GROWTH_DATA,
        batch_quota=team_data.GROWTH_BATCH_QUOTA,
    ),
]

models = [
    fraud_scorer.model,
    chargeback_risk.model,
    churn_predictor.model,
    product_embedder.model,
    recs_ranker.model,
]
