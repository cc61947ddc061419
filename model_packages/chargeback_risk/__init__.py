"""Predicts whether a disputed payment will end in a chargeback."""

from infra.declarations import ModelDeclaration

model = ModelDeclaration(
    name="chargeback-risk",
    version=1,
    team="fraud",
    framework="sklearn",
    framework_version="1.2-1",
    artifact="models:/chargeback-risk/1",
    serving="sagemaker-mme",
    resources={"memory_mb": 256},
    scaling={"min_instances": 1, "max_instances": 2},
    monthly_budget_usd=150,
)
