"""Embeds product images for visual search; needs a GPU, so its endpoint runs NVIDIA Triton."""

from infra.declarations import ModelDeclaration

model = ModelDeclaration(
    name="product-embedder",
    version=1,
    team="growth",
    framework="pytorch",
    framework_version="2.1",
    # An MLflow model committed with the package (model_packages/build_examples.py makes it);
    # a registry URI such as "models:/product-embedder/1" works too, with MLFLOW_TRACKING_URI set.
    artifact="model_packages/product_embedder/mlflow_model",
    serving="sagemaker-mme",
    instance_type="ml.g5.xlarge",
    resources={"memory_mb": 4096, "gpus": 1},
    scaling={"min_instances": 1, "max_instances": 2, "target_invocations_per_instance": 300},
    monthly_budget_usd=1200,
)
