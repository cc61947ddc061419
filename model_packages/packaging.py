"""MLflow model -> the ``.tar.gz`` a SageMaker multi-model container loads, reproducibly.

Sources: an MLflow model URI (``models:/name/3``, ``runs:/id/path``), resolved with MLflow's own
artifact API against ``MLFLOW_TRACKING_URI`` (MLflow's variable; the registry defaults to the same
store); a path to an MLflow model directory (relative paths are relative to the project root); or
the ``model.tar.gz`` a SageMaker training job wrote (``s3://<bucket>/<key>/model.tar.gz``, the
``ModelDataUrl`` a retrained model package registers). The training contract makes the last one an
MLflow model: the training script saves it into ``SM_MODEL_DIR`` (``/opt/ml/model``), whose
contents SageMaker tars into that archive, so its ``MLmodel`` is at the archive's top. It is
downloaded with boto3 (the deployer's credentials) and extracted with tarfile's ``data`` filter.

Archive layouts, by the endpoint's container:
- framework containers (scikit-learn, XGBoost, PyTorch, TensorFlow images on CPU): the MLflow
  model directory at the archive root, plus ``code/inference.py`` for scikit-learn models (the
  SageMaker scikit-learn container has no default ``model_fn``);
- NVIDIA Triton (GPU multi-model endpoints): a Triton model repository entry,
  ``<model>/config.pbtxt`` and ``<model>/1/model.py`` (Python backend) with the MLflow model in
  ``<model>/1/mlflow_model/`` and ``<model>/1/entry.json``, which names the model's entry point
  (its MLmodel's ``mlplat_entry_point`` metadata, in its code paths) and artifacts. The Triton
  image has no MLflow: ``model.py`` runs that entry point with numpy alone.

Every archive is checked against what its container provides (``model_packages.runtimes``)
before it is built: one that cannot load there is refused, naming the file and the module.

Reproducible: entries sorted, mtime 0, uid/gid 0, fixed modes, gzip header without name or time;
the same inputs give the same sha256. Archives are cached under ``.mlplat/packages/`` by a hash of
their inputs, so an unchanged model is not rebuilt on every preview.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from infra.project import PROJECT_ROOT
from infra.s3_names import BUCKET_NAME
from model_packages.runtimes import ENTRY_POINT_KEY, TRITON_HANDLER, archive_problems

FORMAT_VERSION = "2"  # bump when the archive layout changes, to invalidate cached archives
CACHE_ENV = "MLPLAT_PACKAGE_CACHE"  # where archives are cached; .mlplat/packages by default


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or PROJECT_ROOT / ".mlplat" / "packages")


HANDLERS = Path(__file__).resolve().parent / "handlers"
MLFLOW_URI_SCHEMES = ("models:/", "runs:/", "mlflow-artifacts:/")
S3_SCHEME = "s3://"
# What a training job's output is (CreateTrainingJob: <S3OutputPath>/<job>/output/model.tar.gz).
_SAGEMAKER_ARTIFACT = re.compile(
    rf"s3://(?P<bucket>{BUCKET_NAME})/(?P<key>(?:[^/\s]+/)*model\.tar\.gz)"
)


class Layout(StrEnum):
    FRAMEWORK = "framework"
    TRITON = "triton"


class PackagingError(Exception):
    """The model source cannot be resolved or is not an MLflow model."""


class UnloadableArchive(PackagingError):
    """The archive would not load in its serving container (a module it needs is missing)."""


@dataclass(frozen=True)
class Package:
    model: str
    version: int
    archive_name: str  # the TargetModel clients invoke the endpoint with
    path: Path
    sha256: str


def archive_name(model: str, version: int) -> str:
    return f"{model}-v{version}.tar.gz"


def package_model(
    model: str,
    version: int,
    source: str,
    *,
    layout: Layout = Layout.FRAMEWORK,
    tracking_uri: str | None = None,
    cache_dir: Path | None = None,
) -> Package:
    """Build (or reuse) the archive of ``model`` version ``version`` from an MLflow model source."""
    with resolved_model_dir(source, tracking_uri) as model_dir:
        entries = _entries(model, model_dir, layout)
        problems = archive_problems(entries, triton=layout is Layout.TRITON)
        if problems:
            raise UnloadableArchive(
                f"{source}: the {layout} archive cannot load in its serving container: "
                + "; ".join(problems)
            )
        key = _input_hash(model, version, layout, entries)
        target = (cache_dir or cache_root()) / key[:24] / archive_name(model, version)
        digest_file = target.with_name(target.name + ".sha256")
        if target.exists() and digest_file.exists():
            recorded = digest_file.read_text().strip()
            # A cached archive is published as is: reuse it only while it still has its digest.
            if hashlib.sha256(target.read_bytes()).hexdigest() == recorded:
                return Package(model, version, target.name, target, recorded)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = build_archive(entries)
        _atomic_write(target, data)
        sha = hashlib.sha256(data).hexdigest()
        _atomic_write(digest_file, sha.encode())
        return Package(model, version, target.name, target, sha)


def source_problem(source: str, tracking_uri: str | None = None) -> str | None:
    """Why ``source`` cannot be packaged, found without contacting a registry; None when it can.

    The loader reports this with the declaration's path before the program registers anything.
    """
    if source.startswith(MLFLOW_URI_SCHEMES):
        if not (tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")):
            return f"{source} needs MLFLOW_TRACKING_URI: the MLflow tracking/registry store"
        return None
    if source.startswith(S3_SCHEME):
        return sagemaker_artifact_problem(source)
    path = _local_path(source)
    if not (path / "MLmodel").is_file():
        return f"no MLflow model at {source} (no MLmodel file in {path})"
    return None


def sagemaker_artifact_problem(uri: str) -> str | None:
    """Why ``uri`` is not the S3 URI of a training job's ``model.tar.gz``; None when it is."""
    if _SAGEMAKER_ARTIFACT.fullmatch(uri):
        return None
    return (
        f"{uri} is not a SageMaker model artifact: expected s3://<bucket>/<key>/model.tar.gz "
        "(the ModelDataUrl of a training job's output)"
    )


def _local_path(source: str) -> Path:
    path = Path(source.removeprefix("file://"))
    return path if path.is_absolute() else PROJECT_ROOT / path


@contextmanager
def resolved_model_dir(source: str, tracking_uri: str | None = None) -> Iterator[Path]:
    """A local directory holding the MLflow model (downloaded to a temporary folder if remote)."""
    problem = source_problem(source, tracking_uri)
    if problem:
        raise PackagingError(problem)
    if source.startswith(MLFLOW_URI_SCHEMES):
        with tempfile.TemporaryDirectory(prefix="mlplat-model-") as tmp:
            yield _download(source, tracking_uri, Path(tmp))
        return
    if source.startswith(S3_SCHEME):
        with tempfile.TemporaryDirectory(prefix="mlplat-model-") as tmp:
            yield _download_sagemaker_artifact(source, Path(tmp))
        return
    yield _local_path(source)


def _download(uri: str, tracking_uri: str | None, destination: Path) -> Path:
    import mlflow  # imported here: a path source, the common case in previews, needs no MLflow

    tracking_uri = tracking_uri or os.environ["MLFLOW_TRACKING_URI"]  # checked by source_problem
    # models:/ URIs resolve against the process's registry URI; set it for this download only.
    mlflow.set_registry_uri(tracking_uri)
    try:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=str(destination), tracking_uri=tracking_uri
        )
    except mlflow.exceptions.MlflowException as error:
        raise PackagingError(f"{uri}: {error.message}") from None
    finally:
        mlflow.set_registry_uri(None)
    path = Path(local)
    if not (path / "MLmodel").is_file():
        raise PackagingError(
            f"{uri}: the downloaded artifact is not an MLflow model (no MLmodel file)"
        )
    return path


def _download_sagemaker_artifact(uri: str, destination: Path) -> Path:
    import boto3  # imported here: only an S3 source needs it
    from botocore.exceptions import BotoCoreError, ClientError

    match = _SAGEMAKER_ARTIFACT.fullmatch(uri)
    assert match, "checked by source_problem"
    archive = destination / "model.tar.gz"
    try:
        boto3.client("s3").download_file(match["bucket"], match["key"], str(archive))
    except ClientError as error:
        detail = error.response.get("Error", {})
        raise PackagingError(
            f"{uri}: cannot download it ({detail.get('Code')}: {detail.get('Message')})"
        ) from None
    except BotoCoreError as error:  # no credentials, no network
        raise PackagingError(f"{uri}: cannot download it ({error})") from None
    model_dir = destination / "model"
    try:
        with tarfile.open(archive, "r:gz") as tar:
            # "data": no absolute paths, nothing outside model_dir (``..``, links pointing out),
            # no devices; modes made safe (Python's tarfile extraction filters).
            tar.extractall(model_dir, filter="data")
    except tarfile.FilterError as error:
        raise PackagingError(
            f"{uri}: refused, a member escapes the archive's folder ({error})"
        ) from None
    except (tarfile.TarError, EOFError, OSError) as error:
        raise PackagingError(f"{uri}: not a readable tar.gz ({error})") from None
    if not (model_dir / "MLmodel").is_file():
        raise PackagingError(
            f"{uri}: no MLmodel at the archive's top: the training script must save an MLflow "
            "model into SM_MODEL_DIR (e.g. mlflow.sklearn.save_model(model, "
            'os.environ["SM_MODEL_DIR"]))'
        )
    return model_dir


Entry = tuple[str, bytes, int]  # archive path, content, mode


def _entries(model: str, model_dir: Path, layout: Layout) -> list[Entry]:
    files = sorted(p for p in model_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    model_files = [(p.relative_to(model_dir).as_posix(), p.read_bytes(), 0o644) for p in files]
    if layout is Layout.TRITON:
        version_dir = f"{model}/1/"
        handler = (HANDLERS / "triton_model.py").read_bytes()
        entries = [
            (f"{model}/config.pbtxt", _triton_config(model).encode(), 0o644),
            (f"{version_dir}{TRITON_HANDLER}", handler, 0o644),
        ]
        entry = _triton_entry(model_dir)
        if entry is not None:
            entries.append((f"{version_dir}entry.json", entry, 0o644))
        prefix = f"{version_dir}{TRITON_MODEL_DIR}/"
        return sorted(entries + [(prefix + name, data, mode) for name, data, mode in model_files])
    flavors = (model_dir / "MLmodel").read_text()
    if "\n  sklearn:" in flavors:
        model_files.append(
            ("code/inference.py", (HANDLERS / "sklearn_inference.py").read_bytes(), 0o644)
        )
    return sorted(model_files)


TRITON_MODEL_DIR = "mlflow_model"


def _triton_config(model: str) -> str:
    # KIND_CPU: the Python backend runs the entry point with numpy, on the host's CPU; a GPU
    # instance group would only pin the process to a device it does not compute on.
    return (
        f'name: "{model}"\n'
        'backend: "python"\n'
        "max_batch_size: 0\n"
        'input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ -1, -1 ] } ]\n'
        'output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ -1, -1 ] } ]\n'
        "instance_group [ { kind: KIND_CPU count: 1 } ]\n"
    )


def _triton_entry(model_dir: Path) -> bytes | None:
    """entry.json for model.py: the entry point, its code directory and the artifacts' paths
    (relative to the version directory); None when the model declares no entry point."""
    mlmodel = yaml.safe_load((model_dir / "MLmodel").read_text()) or {}
    entry_point = (mlmodel.get("metadata") or {}).get(ENTRY_POINT_KEY)
    if not entry_point:
        return None
    pyfunc = (mlmodel.get("flavors") or {}).get("python_function") or {}
    artifacts = {
        name: f"{TRITON_MODEL_DIR}/{spec['path']}"
        for name, spec in (pyfunc.get("artifacts") or {}).items()
    }
    entry = {
        "entry_point": entry_point,
        "code_dir": f"{TRITON_MODEL_DIR}/{pyfunc.get('code') or 'code'}",
        "artifacts": artifacts,
    }
    return json.dumps(entry, indent=2, sort_keys=True).encode() + b"\n"


def _input_hash(model: str, version: int, layout: Layout, entries: list[Entry]) -> str:
    digest = hashlib.sha256(f"{FORMAT_VERSION}\n{model}\n{version}\n{layout}\n".encode())
    for name, content, mode in entries:
        digest.update(f"{name}\n{mode}\n{len(content)}\n".encode())
        digest.update(content)
    return digest.hexdigest()


def build_archive(entries: list[Entry]) -> bytes:
    """A gzip'd tar of the entries with every varying header field fixed."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for directory in _directories(entries):
            tar.addfile(_info(directory, tarfile.DIRTYPE, 0o755, 0))
        for name, content, mode in entries:
            tar.addfile(_info(name, tarfile.REGTYPE, mode, len(content)), io.BytesIO(content))
    compressed = io.BytesIO()
    # filename="" and mtime=0: the gzip header carries neither the file name nor a timestamp.
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return compressed.getvalue()


def _directories(entries: list[Entry]) -> list[str]:
    directories = {
        str(parent) for name, _, _ in entries for parent in Path(name).parents if str(parent) != "."
    }
    return sorted(directories)


def _info(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size = kind, mode, size
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    return info


def _atomic_write(path: Path, data: bytes) -> None:
    # Two previews may build the same archive at once; a rename never exposes a partial file.
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(data)
    shutil.move(handle.name, path)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
