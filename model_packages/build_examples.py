"""Regenerate the example models' MLflow directories (``model_packages/<pkg>/mlflow_model/``).

    .venv/bin/python -m model_packages.build_examples [PACKAGE ...]

Tiny, real models trained on synthetic data with a fixed seed, saved with MLflow's own flavours,
so the offline preview packages real MLflow models from a fresh clone without a registry. The
committed directories are the artifacts; rerunning rewrites them (MLflow stamps a creation time
and a UUID into MLmodel, so the archives' sha256 changes).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

PACKAGES = Path(__file__).resolve().parent
SKLEARN_REQUIREMENT = "scikit-learn"


def _features(seed: int, rows: int = 200, columns: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, columns))
    labels = (features[:, 0] + 0.5 * features[:, 1] - features[:, 2] > 0).astype(int)
    return features, labels


def _save_sklearn(package: str, estimator, seed: int) -> Path:
    import mlflow.sklearn

    features, labels = _features(seed)
    estimator.fit(features, labels)
    target = PACKAGES / package / "mlflow_model"
    shutil.rmtree(target, ignore_errors=True)
    mlflow.sklearn.save_model(
        estimator,
        str(target),
        serialization_format="pickle",  # the serving container reads it without MLflow
        pip_requirements=[SKLEARN_REQUIREMENT],
        input_example=features[:2],
    )
    return target


def _save_embedder() -> Path:
    import mlflow.pyfunc

    from model_packages.runtimes import ENTRY_POINT_KEY

    package = PACKAGES / "product_embedder"
    target = package / "mlflow_model"
    shutil.rmtree(target, ignore_errors=True)
    sys.path.insert(0, str(package))  # embedder.py imports its code path, as MLflow loads it
    with tempfile.TemporaryDirectory() as tmp:
        projection = Path(tmp) / "projection.npy"
        np.save(projection, np.random.default_rng(7).normal(size=(6, 16)).astype(np.float32))
        mlflow.pyfunc.save_model(
            str(target),
            python_model=str(package / "embedder.py"),
            artifacts={"projection": str(projection)},
            code_paths=[str(package / "embedding.py")],
            # What runtimes without MLflow (Triton's Python backend) construct and call.
            metadata={ENTRY_POINT_KEY: "embedding:Embedder"},
            input_example=np.random.default_rng(8).normal(size=(2, 6)).astype(np.float32),
            pip_requirements=["numpy"],
        )
    return target


def _builders() -> dict[str, Callable[[], Path]]:
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression

    return {
        "fraud_scorer": lambda: _save_sklearn(
            "fraud_scorer",
            GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0),
            1,
        ),
        "chargeback_risk": lambda: _save_sklearn("chargeback_risk", LogisticRegression(), 2),
        "churn_predictor": lambda: _save_sklearn(
            "churn_predictor",
            RandomForestClassifier(n_estimators=10, max_depth=3, random_state=0),
            3,
        ),
        "product_embedder": _save_embedder,
        # A pointwise ranker: scores each candidate's features; served on EKS.
        "recs_ranker": lambda: _save_sklearn(
            "recs_ranker",
            GradientBoostingRegressor(n_estimators=20, max_depth=2, random_state=0),
            4,
        ),
    }


def main(argv: list[str] | None = None) -> None:
    """Rebuild the named packages' models (all when none is named)."""
    # The pip requirements are explicit; the project's own uv files do not belong in the models.
    os.environ["MLFLOW_LOG_UV_FILES"] = "false"
    builders = _builders()
    names = (sys.argv[1:] if argv is None else argv) or list(builders)
    unknown = sorted(set(names) - set(builders))
    if unknown:
        raise SystemExit(f"unknown example package(s): {', '.join(unknown)}")
    for name in names:
        print(builders[name]().relative_to(PACKAGES.parent))


if __name__ == "__main__":
    main()
