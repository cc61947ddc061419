"""prod: at least two instances per endpoint, full data capture on the fraud models."""

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
        monthly_budget_usd=4000,
        quota={"cpu": 32, "memory_gib": 128, "gpus": 0},
        data=team_data.FRAUD_DATA,
    ),
    Team(
        name="growth",
        monthly_budget_usd=8000,
        quota={"cpu": 64, "memory_gib": 256, "gpus": 4},
        data=team_data.GROWTH_DATA,
        batch_quota=team_data.GROWTH_BATCH_QUOTA,
    ),
]

models = [
    fraud_scorer.model.override(
        scaling={"min_instances": 2, "max_instances": 8}, data_capture_percent=100
    ),
    chargeback_risk.model.override(scaling={"min_instances": 2, "max_instances": 4}),
    # Two instances at least (for availability) cost twice dev's: their budgets follow.
    churn_predictor.model.override(
        scaling={"min_instances": 2, "max_instances": 4}, monthly_budget_usd=400
    ),
    product_embedder.model.override(
        scaling={"min_instances": 2, "max_instances": 4}, monthly_budget_usd=2500
    ),
    recs_ranker.model.override(scaling={"min_instances": 3, "max_instances": 12}),
]
