"""Every declared model's archive loads and answers in its serving runtime, and nothing more.

Each archive is built as the stacks build it, unpacked, and run in a process of its own the way
its container runs it (``runtime_harness.py``): Triton's Python backend through a stand-in of
``triton_python_backend_utils``, the scikit-learn container through its handler contract. Every
import outside what the image provides (``model_packages.runtimes``) and the archive carries
fails, so a model that needs MLflow, or anything else the image lacks, fails here as it would on
the endpoint. The answer is compared with the MLflow model's own prediction on its input example.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from components.serving.artifacts import layout_for
from components.serving.placement import plan_endpoints
from infra.loader import load_environment, read_stack_config
from infra.project import PROJECT_ROOT
from model_packages import packaging, runtimes
from model_packages.packaging import Layout, UnloadableArchive, package_model

HERE = Path(__file__).resolve().parent
HARNESS = HERE / "runtime_harness.py"
TRITON_STUB = HERE / "triton_stub"
STACKS = ("dev", "staging", "prod")


def declared_models() -> list[tuple[object, Layout]]:
    """Every model any stack declares, once per (artifact, layout) it is packaged with."""
    found = {}
    for stack in STACKS:
        spec = load_environment(stack, read_stack_config(stack))
        layouts = {m.name: layout_for(plan) for plan in plan_endpoints(spec) for m in plan.models}
        for model in spec.models:
            layout = layouts.get(model.name, Layout.FRAMEWORK)  # EKS: the framework image
            found.setdefault((model.name, model.artifact, layout), (model, layout))
    return list(found.values())


DECLARED = declared_models()


def unpack(archive: Path, into: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def input_example(model_dir: Path) -> list:
    path = model_dir / "input_example.json"
    assert path.is_file(), f"{model_dir}: the model carries no input example to test it with"
    return json.loads(path.read_text())


def mlflow_prediction(loaded, rows: list) -> np.ndarray:
    """The MLflow model's own answer, with the rows in the dtype its signature declares."""
    schema = loaded.metadata.get_input_schema()
    dtype = schema.numpy_types()[0] if schema is not None and schema.is_tensor_spec() else None
    return np.asarray(loaded.predict(np.asarray(rows, dtype=dtype)))


def parse_pbtxt(text: str):
    """Triton's model configuration text format as the JSON Triton hands ``initialize``
    (enough of protobuf's text format for a model configuration: messages, lists, scalars)."""
    tokens = re.findall(r'"[^"]*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', text)
    position = 0

    def value():
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "{":
            return message("}")
        if token == "[":
            items = []
            while tokens[position] != "]":
                items.append(value())
                if tokens[position] == ",":
                    position += 1
            position += 1
            return items
        if token.startswith('"'):
            return token[1:-1]
        return int(token) if re.fullmatch(r"-?\d+", token) else token

    def message(end):
        nonlocal position
        fields: dict = {}
        while position < len(tokens) and tokens[position] != end:
            name = tokens[position]
            position += 1
            if tokens[position] == ":":
                position += 1
            parsed = value()
            fields[name] = parsed
        position += 1
        return fields

    return message(None)


def run_in_runtime(spec: dict, tmp_path: Path) -> dict:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    done = subprocess.run(
        [sys.executable, str(HARNESS), str(spec_file)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.splitlines()[-1])
    return {**answer, "stderr": done.stderr}


def triton_spec(model: str, root: Path, rows: list) -> dict:
    config = parse_pbtxt((root / model / "config.pbtxt").read_text())
    assert config["name"] == model and config["backend"] == "python"
    return {
        "runtime": "triton",
        "root": str(root),
        "allowed": sorted(runtimes.allowed_modules(runtimes.TRITON)),
        "paths": [str(TRITON_STUB)],
        "rows": rows,
        "model": model,
        "model_config": config,
    }


def sklearn_spec(root: Path, rows: list) -> dict:
    return {
        "runtime": "sklearn",
        "root": str(root),
        "allowed": sorted(runtimes.allowed_modules(runtimes.SKLEARN)),
        "paths": [],
        "rows": rows,
        "program": Path(runtimes.SKLEARN_PROGRAM).name,
    }


@pytest.mark.parametrize(
    ("model", "layout"), DECLARED, ids=[f"{m.name}-{layout}" for m, layout in DECLARED]
)
def test_every_declared_model_answers_in_its_serving_runtime(model, layout, tmp_path):
    import mlflow.pyfunc

    package = package_model(
        model.name, model.version, model.artifact, layout=layout, cache_dir=tmp_path / "cache"
    )
    root = unpack(package.path, tmp_path / "archive")
    with packaging.resolved_model_dir(model.artifact) as model_dir:
        rows = input_example(model_dir)
        expected = mlflow_prediction(mlflow.pyfunc.load_model(str(model_dir)), rows)
    if layout is Layout.TRITON:
        spec = triton_spec(model.name, root, rows)
    else:
        spec = sklearn_spec(root, rows)
    answer = run_in_runtime(spec, tmp_path)
    assert answer["error"] is None, f"{model.name}: {answer['error']}\n{answer['stderr']}"
    np.testing.assert_allclose(np.asarray(answer["outputs"]), expected, rtol=1e-5, atol=1e-6)


def test_the_runtime_refuses_what_the_image_lacks(tmp_path):
    """The harness itself: code that imports MLflow fails in the Triton runtime, as on the
    endpoint (MLflow is installed here, so only the blocker can make this fail)."""
    model = next(m for m, layout in DECLARED if layout is Layout.TRITON)
    package = package_model(
        model.name, model.version, model.artifact, layout=Layout.TRITON, cache_dir=tmp_path / "c"
    )
    root = unpack(package.path, tmp_path / "archive")
    code = next((root / model.name / "1").rglob("code/*.py"))
    code.write_text("import mlflow.pyfunc\n" + code.read_text())
    with packaging.resolved_model_dir(model.artifact) as model_dir:
        rows = input_example(model_dir)
    answer = run_in_runtime(triton_spec(model.name, root, rows), tmp_path)
    assert answer["outputs"] is None
    assert "mlflow" in answer["error"]


def test_packaging_refuses_a_triton_model_that_needs_mlflow(tmp_path, monkeypatch):
    """The handler before issue 11 loaded the model with mlflow.pyfunc inside Triton."""
    handlers = tmp_path / "handlers"
    handlers.mkdir()
    old = (packaging.HANDLERS / "triton_model.py").read_text()
    (handlers / "triton_model.py").write_text(
        old.replace("import importlib\n", "import importlib\nimport mlflow.pyfunc\n")
    )
    monkeypatch.setattr(packaging, "HANDLERS", handlers)
    with pytest.raises(UnloadableArchive, match=r"1/model\.py imports mlflow, which"):
        package_model(
            "product-embedder",
            1,
            "model_packages/product_embedder/mlflow_model",
            layout=Layout.TRITON,
            cache_dir=tmp_path / "cache",
        )


def test_packaging_refuses_a_triton_model_without_an_entry_point(tmp_path):
    source = tmp_path / "model"
    shutil.copytree(PROJECT_ROOT / "model_packages/product_embedder/mlflow_model", source)
    mlmodel = (source / "MLmodel").read_text()
    (source / "MLmodel").write_text(mlmodel.replace(runtimes.ENTRY_POINT_KEY, "other_key"))
    with pytest.raises(UnloadableArchive, match=runtimes.ENTRY_POINT_KEY):
        package_model("product-embedder", 1, str(source), layout=Layout.TRITON, cache_dir=tmp_path)


def test_packaging_refuses_a_pickle_of_classes_the_image_lacks(tmp_path):
    import pickle

    source = tmp_path / "model"
    shutil.copytree(PROJECT_ROOT / "model_packages/churn_predictor/mlflow_model", source)
    # A pickle naming a module the scikit-learn image does not install (mlflow, say).
    import mlflow.models

    (source / "model.pkl").write_bytes(pickle.dumps(mlflow.models.Model))
    with pytest.raises(UnloadableArchive, match=r"model\.pkl unpickles classes from mlflow"):
        package_model("churn-predictor", 2, str(source), cache_dir=tmp_path / "cache")


def test_pickled_modules_follow_memoized_names():
    import collections
    import pickle

    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps([collections.OrderedDict(), collections.OrderedDict()], protocol)
        assert runtimes.pickled_modules(data) == {"collections"}, protocol


def test_models_package_refuses_an_unloadable_archive_as_a_declaration_error(tmp_path, monkeypatch):
    """`mlplat models package` with the pre-issue-11 Triton handler (it imported MLflow)."""
    from typer.testing import CliRunner

    from mlplat.cli import app

    handlers = tmp_path / "handlers"
    shutil.copytree(packaging.HANDLERS, handlers)
    current = (packaging.HANDLERS / "triton_model.py").read_text()
    (handlers / "triton_model.py").write_text(
        current.replace("import importlib\n", "import importlib\nimport mlflow.pyfunc\n")
    )
    monkeypatch.setattr(packaging, "HANDLERS", handlers)
    monkeypatch.setenv(packaging.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "400")
    result = CliRunner().invoke(app, ["models", "package", "--stack", "dev"])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit(2), not a crash
    assert "Traceback" not in result.output
    refused = [line for line in result.output.splitlines() if "cannot load" in line]
    assert len(refused) == 1, result.output
    assert refused[0].startswith("error: model 'product-embedder': ")
    assert "imports mlflow" in refused[0]
