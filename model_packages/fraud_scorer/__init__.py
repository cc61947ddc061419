"""Scores card transactions for fraud in real time: the fraud team's main model."""

from infra.declarations import ModelDeclaration

model = ModelDeclaration(
    name="fraud-scorer",
    version=3,
    team="fraud",
    description="Gradient-boosted trees over transaction features.",
    framework="xgboost",
    framework_version="1.7-1",
    artifact="models:/fraud-scorer/3",
    serving="sagemaker-mme",
    instance_type="ml.m5.xlarge",
    resources={"memory_mb": 512},
    scaling={"min_instances": 1, "max_instances": 4, "target_invocations_per_instance": 2000},
    data_capture_percent=20,
    monthly_budget_usd=400,
)
