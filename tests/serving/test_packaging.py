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


# --- A retrained model: the model.tar.gz a SageMaker training job wrote ---------------------------

ARTIFACTS = "mlplat-dev-artifacts"
RETRAINED_KEY = "retraining/teams/fraud/fraud-scorer/pipelines-x1-Train-Ab12/output/model.tar.gz"


@pytest.fixture
def s3(monkeypatch):
    import boto3
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=ARTIFACTS)
        yield client


def _trained_model_dir(tmp_path: Path) -> Path:
    """What a training script following the contract leaves in SM_MODEL_DIR: an MLflow model."""
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    features = rng.normal(size=(30, 3))
    estimator = LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))
    sm_model_dir = tmp_path / "opt/ml/model"
    sm_model_dir.mkdir(parents=True)  # SageMaker creates it, empty, before the script runs
    mlflow.sklearn.save_model(
        estimator,
        str(sm_model_dir),
        serialization_format="pickle",
        pip_requirements=["scikit-learn"],
    )
    return sm_model_dir


def _tar_like_sagemaker(model_dir: Path, archive: Path) -> Path:
    """SageMaker tars the contents of /opt/ml/model (not the folder) into model.tar.gz."""
    with tarfile.open(archive, "w:gz") as tar:
        for child in sorted(model_dir.iterdir()):
            tar.add(child, arcname=child.name)
    return archive


def _upload(s3, archive: Path, key: str = RETRAINED_KEY) -> str:
    s3.upload_file(str(archive), ARTIFACTS, key)
    return f"s3://{ARTIFACTS}/{key}"


def test_a_retrained_model_tar_gz_packages_into_the_archive_its_folder_gives(s3, tmp_path):
    import mlflow.pyfunc

    model_dir = _trained_model_dir(tmp_path)
    uri = _upload(s3, _tar_like_sagemaker(model_dir, tmp_path / "model.tar.gz"))
    from_s3 = package_model("fraud-scorer", 4, uri, cache_dir=tmp_path / "from-s3")
    from_folder = package_model("fraud-scorer", 4, str(model_dir), cache_dir=tmp_path / "folder")
    assert from_s3.path != from_folder.path  # built twice, not reused from one cache
    assert from_s3.path.read_bytes() == from_folder.path.read_bytes()
    unpacked = _unpack(from_s3.path, tmp_path / "unpacked")
    assert (unpacked / "code" / "inference.py").is_file()  # a scikit-learn model's handler
    probe = np.ones((2, 3))
    np.testing.assert_array_equal(
        mlflow.pyfunc.load_model(str(unpacked)).predict(probe),
        mlflow.pyfunc.load_model(str(model_dir)).predict(probe),
    )


@pytest.mark.parametrize(
    "uri",
    [
        "s3://mlplat-dev-artifacts/retraining/model.zip",
        "s3://mlplat-dev-artifacts/retraining/",
        "s3://Not_A_Bucket/retraining/model.tar.gz",
        "s3://mlplat-dev-artifacts",
    ],
)
def test_an_s3_artifact_of_another_shape_is_named_without_the_network(uri, monkeypatch):
    from model_packages.packaging import source_problem

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # any download would fail
    problem = source_problem(uri)
    assert problem and uri in problem and "s3://<bucket>/<key>/model.tar.gz" in problem
    assert source_problem(f"s3://{ARTIFACTS}/{RETRAINED_KEY}") is None


def test_a_missing_artifact_is_a_packaging_error(s3, tmp_path):
    with pytest.raises(PackagingError, match=r"model\.tar\.gz: cannot download it \(404"):
        package_model("fraud-scorer", 4, f"s3://{ARTIFACTS}/{RETRAINED_KEY}", cache_dir=tmp_path)


def _archive_with(tmp_path: Path, *members: tarfile.TarInfo) -> Path:
    import io

    archive = tmp_path / "crafted.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for member in members:
            tar.addfile(member, io.BytesIO(MLMODEL[: member.size]) if member.isfile() else None)
    return archive


MLMODEL = b"flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"


def _file(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = len(MLMODEL)
    return info


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize(
    "escaping",
    [
        _file("../outside.txt"),
        _link("data", "../../etc"),
        _link("passwd", "/etc/passwd"),
        _link("hard", "../outside.txt", tarfile.LNKTYPE),
    ],
    ids=["parent", "symlink-out", "symlink-absolute", "hardlink-out"],
)
def test_an_archive_escaping_its_folder_is_refused(s3, tmp_path, escaping):
    uri = _upload(s3, _archive_with(tmp_path, _file("MLmodel"), escaping))
    with pytest.raises(PackagingError, match="refused, a member escapes the archive's folder"):
        package_model("fraud-scorer", 4, uri, cache_dir=tmp_path / "cache")
    assert not (tmp_path.parent / "outside.txt").exists()


def test_an_archive_without_mlmodel_at_its_top_names_the_training_contract(s3, tmp_path):
    uri = _upload(s3, _archive_with(tmp_path, _file("model/MLmodel"), _file("model.joblib")))
    with pytest.raises(PackagingError, match="no MLmodel at the archive's top.*SM_MODEL_DIR"):
        package_model("fraud-scorer", 4, uri, cache_dir=tmp_path / "cache")


def test_an_artifact_that_is_not_a_tar_gz_is_a_packaging_error(s3, tmp_path):
    (tmp_path / "model.tar.gz").write_bytes(b"not a tarball")
    uri = _upload(s3, tmp_path / "model.tar.gz")
    with pytest.raises(PackagingError, match="not a readable tar.gz"):
        package_model("fraud-scorer", 4, uri, cache_dir=tmp_path / "cache")
