"""Predicts which subscribers are about to cancel, for the growth team's retention offers."""

from infra.declarations import ModelDeclaration, Monitoring, Retraining

model = ModelDeclaration(
    name="churn-predictor",
    version=2,
    team="growth",
    framework="sklearn",
    framework_version="1.9-0",
    # An MLflow model committed with the package (model_packages/build_examples.py makes it);
    # a registry URI such as "models:/churn-predictor/2" works too, with MLFLOW_TRACKING_URI set.
    artifact="model_packages/churn_predictor/mlflow_model",
    serving="sagemaker-mme",
    resources={"memory_mb": 384},
    scaling={"min_instances": 1, "max_instances": 3},
    monthly_budget_usd=200,
    monitoring=Monitoring(method="psi", schedule="cron(0 6 ? * MON *)", window_hours=168),
    # Retrains every week whatever the drift, on spot.
    retraining=Retraining(
        data="s3://example-org-ml-data/growth/churn/train/",
        metric="f1",
        minimum=0.7,
        on_drift=False,
        schedule="rate(7 days)",
    ),
    # Every subscriber scored each night on spot capacity (components/batch.py), and by hand
    # when the retention team wants a fresh list.
    batch=[
        {
            "name": "nightly",
            "input": {"s3": "s3://acme-growth-warehouse/subscribers/daily/", "format": "parquet"},
            "output": "s3://acme-growth-warehouse/churn-scores/",
            "schedule": "cron(0 2 * * ? *)",
            "on_demand": True,
            "size": {"executors": 4, "executor_cores": 2, "executor_memory_gb": 4},
        }
    ],
)
