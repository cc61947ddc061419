"""Scores card transactions for fraud in real time: the fraud team's main model."""

from infra.declarations import ModelDeclaration, Monitoring, Retraining

model = ModelDeclaration(
    name="fraud-scorer",
    version=3,
    team="fraud",
    description="Gradient-boosted trees (scikit-learn) over transaction features.",
    framework="sklearn",
    framework_version="1.9-0",
    # An MLflow model committed with the package (model_packages/build_examples.py makes it);
    # a registry URI such as "models:/fraud-scorer/3" works too, with MLFLOW_TRACKING_URI set.
    artifact="model_packages/fraud_scorer/mlflow_model",
    serving="sagemaker-mme",
    instance_type="ml.m5.xlarge",
    resources={"memory_mb": 512},
    scaling={"min_instances": 1, "max_instances": 4, "target_invocations_per_instance": 2000},
    data_capture_percent=20,
    monthly_budget_usd=400,
    monitoring=Monitoring(),
    # Retrains when its drift alarm fires; a new version waits for manual approval.
    retraining=Retraining(
        data="s3://example-org-ml-data/fraud/transactions/train/", metric="auc", minimum=0.92
    ),
)
