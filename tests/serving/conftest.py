"""Serving test fixtures: a local MLflow store with a tiny scikit-learn model registered."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@dataclass(frozen=True)
class RegisteredModel:
    tracking_uri: str
    name: str
    version: int
    features: np.ndarray
    expected: np.ndarray

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A file-backed MLflow tracking store and registry in a temporary folder.

    mlflow-skinny ships no SQL backend (no SQLAlchemy), so the file store is the local store it can
    use; MLflow 3 requires an explicit opt-in for it.
    """
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_LOG_UV_FILES", "false")
    return (tmp_path / "mlruns").as_uri()


@pytest.fixture
def registered_model(mlflow_store: str) -> RegisteredModel:
    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 4))
    labels = (features[:, 0] - features[:, 1] > 0).astype(int)
    estimator = LogisticRegression().fit(features, labels)
    previous_tracking_uri = mlflow.get_tracking_uri()  # the session's temporary default store
    mlflow.set_tracking_uri(mlflow_store)
    mlflow.set_registry_uri(mlflow_store)
    try:
        mlflow.set_experiment("packaging")
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                estimator,
                name="model",
                pip_requirements=["scikit-learn"],
                serialization_format="pickle",
                registered_model_name="tiny-classifier",
            )
    finally:  # leave no global MLflow state behind for other tests
        mlflow.set_tracking_uri(previous_tracking_uri)
        mlflow.set_registry_uri(None)
    version = info.registered_model_version
    return RegisteredModel(
        mlflow_store, "tiny-classifier", int(version), features, estimator.predict(features)
    )
