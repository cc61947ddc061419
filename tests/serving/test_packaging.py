"""Packaging an MLflow model into the archive a multi-model endpoint loads."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import numpy as np
import pytest

from infra.project import PROJECT_ROOT
from model_packages.packaging import Layout, PackagingError, package_model


def _unpack(archive: Path, into: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def test_registered_model_round_trips_through_the_archive(registered_model, tmp_path):
    import mlflow.pyfunc

    package = package_model(
        registered_model.name,
        registered_model.version,
        registered_model.uri,
        tracking_uri=registered_model.tracking_uri,
        cache_dir=tmp_path / "cache",
    )
    assert package.archive_name == f"tiny-classifier-v{registered_model.version}.tar.gz"
    assert package.sha256 == hashlib.sha256(package.path.read_bytes()).hexdigest()

    unpacked = _unpack(package.path, tmp_path / "unpacked")
    assert (unpacked / "MLmodel").is_file()
    assert (unpacked / "code" / "inference.py").is_file()  # the scikit-learn container's handler
    loaded = mlflow.pyfunc.load_model(str(unpacked))
    np.testing.assert_array_equal(
        loaded.predict(registered_model.features), registered_model.expected
    )


def test_the_sagemaker_handler_predicts_like_the_model(registered_model, tmp_path):
    import importlib.util
    import json

    package = package_model(
        registered_model.name,
        registered_model.version,
        registered_model.uri,
        tracking_uri=registered_model.tracking_uri,
        cache_dir=tmp_path / "cache",
    )
    unpacked = _unpack(package.path, tmp_path / "unpacked")
    spec = importlib.util.spec_from_file_location("inference", unpacked / "code" / "inference.py")
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    model = handler.model_fn(str(unpacked))
    data = handler.input_fn(json.dumps(registered_model.features.tolist()), "application/json")
    body, content_type = handler.output_fn(handler.predict_fn(data, model), "application/json")
    assert content_type == "application/json"
    assert json.loads(body) == registered_model.expected.tolist()


def test_packaging_twice_gives_the_same_bytes(registered_model, tmp_path):
    first, second = (
        package_model(
            registered_model.name,
            registered_model.version,
            registered_model.uri,
            tracking_uri=registered_model.tracking_uri,
            cache_dir=tmp_path / name,
        )
        for name in ("one", "two")
    )
    assert first.path != second.path  # built twice, not reused
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()


def test_archive_headers_carry_no_time_or_owner(tmp_path):
    package = package_model(
        "chargeback-risk", 1, "model_packages/chargeback_risk/mlflow_model", cache_dir=tmp_path
    )
    raw = package.path.read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # gzip MTIME
    with tarfile.open(package.path) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members if m.isdir()) + sorted(
        m.name for m in members if not m.isdir()
    )
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}


def test_an_unchanged_model_is_not_rebuilt(tmp_path):
    source = "model_packages/churn_predictor/mlflow_model"
    first = package_model("churn-predictor", 2, source, cache_dir=tmp_path)
    built_at = first.path.stat().st_mtime_ns
    again = package_model("churn-predictor", 2, source, cache_dir=tmp_path)
    assert again == first and again.path.stat().st_mtime_ns == built_at


def test_a_changed_model_gets_a_new_archive(tmp_path):
    import shutil

    source = tmp_path / "model"
    shutil.copytree(PROJECT_ROOT / "model_packages/churn_predictor/mlflow_model", source)
    before = package_model("churn-predictor", 2, str(source), cache_dir=tmp_path / "cache")
    (source / "requirements.txt").write_text("scikit-learn==1.5.0\n")
    after = package_model("churn-predictor", 2, str(source), cache_dir=tmp_path / "cache")
    assert after.sha256 != before.sha256


def test_triton_layout_is_a_model_repository_entry(tmp_path):
    package = package_model(
        "product-embedder",
        1,
        "model_packages/product_embedder/mlflow_model",
        layout=Layout.TRITON,
        cache_dir=tmp_path,
    )
    with tarfile.open(package.path) as tar:
        names = set(tar.getnames())
    assert {
        "product-embedder/config.pbtxt",
        "product-embedder/1/model.py",
        "product-embedder/1/entry.json",  # the numpy entry point model.py runs (no MLflow)
        "product-embedder/1/mlflow_model/MLmodel",
        "product-embedder/1/mlflow_model/code/embedding.py",
    } <= names


def test_the_example_embedder_is_a_loadable_mlflow_model():
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(
        str(PROJECT_ROOT / "model_packages/product_embedder/mlflow_model")
    )
    embeddings = np.asarray(model.predict(np.ones((3, 6), dtype=np.float32)))
    assert embeddings.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)


def test_unknown_registry_version_is_a_clear_error(registered_model, tmp_path):
    with pytest.raises(PackagingError, match="models:/tiny-classifier/99"):
        package_model(
            "tiny-classifier",
            99,
            "models:/tiny-classifier/99",
            tracking_uri=registered_model.tracking_uri,
            cache_dir=tmp_path,
        )


def test_a_directory_without_mlmodel_is_rejected(tmp_path):
    with pytest.raises(PackagingError, match=r"no MLflow model at .* \(no MLmodel file"):
        package_model("nothing", 1, str(tmp_path), cache_dir=tmp_path / "cache")


def test_a_corrupted_cached_archive_is_rebuilt_not_published(tmp_path):
    source = "model_packages/churn_predictor/mlflow_model"
    first = package_model("churn-predictor", 2, source, cache_dir=tmp_path)
    good = first.path.read_bytes()
    first.path.write_bytes(b"garbage")
    again = package_model("churn-predictor", 2, source, cache_dir=tmp_path)
    assert again.sha256 == first.sha256
    assert again.path.read_bytes() == good
