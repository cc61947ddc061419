"""Predicts whether a disputed payment will end in a chargeback."""

from infra.declarations import ModelDeclaration, Monitoring

model = ModelDeclaration(
    name="chargeback-risk",
    version=1,
    team="fraud",
    framework="sklearn",
    framework_version="1.9-0",
    # An MLflow model committed with the package (model_packages/build_examples.py makes it);
    # a registry URI such as "models:/chargeback-risk/1" works too, with MLFLOW_TRACKING_URI set.
    artifact="model_packages/chargeback_risk/mlflow_model",
    serving="sagemaker-mme",
    resources={"memory_mb": 256},
    scaling={"min_instances": 1, "max_instances": 2},
    monthly_budget_usd=150,
    monitoring=Monitoring(),
)
