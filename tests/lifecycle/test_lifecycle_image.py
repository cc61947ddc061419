"""The lifecycle image (lifecycle/Dockerfile) holds what the drift pipeline's entry point needs:
the locked dependencies, every first-party package ``python3 -m lifecycle.drift`` imports, and
the environment's python3 first on PATH. (Not built here: no Docker where the tests run.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys

from components.lifecycle.definitions import DriftPipelineInputs, drift_definition
from infra.project import PROJECT_ROOT

DOCKERFILE = (PROJECT_ROOT / "lifecycle" / "Dockerfile").read_text()
FIRST_PARTY = {
    p.name for p in PROJECT_ROOT.iterdir() if p.is_dir() and (p / "__init__.py").is_file()
}


def _copied() -> set[str]:
    return {m[1] for m in re.finditer(r"^COPY (\w+)/ \1/$", DOCKERFILE, flags=re.MULTILINE)}


def _imported_by(module: str) -> set[str]:
    """First-party top-level packages a fresh interpreter loads to run ``module``'s job."""
    code = (
        "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, module], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout)) & FIRST_PARTY


def test_the_image_copies_every_package_the_drift_job_imports():
    needed = _imported_by("lifecycle.drift.job")
    assert "lifecycle" in needed and needed <= _copied(), needed - _copied()


def test_the_pipeline_runs_a_module_of_the_image_with_its_environments_python():
    definition = drift_definition(
        DriftPipelineInputs(
            "s3://c/capture/teams/t/", "s3://a/b/", "s3://a/c.json", "s3://a/r/", "img", "role", "k"
        )
    )
    (step,) = definition["Steps"]
    entry = step["Arguments"]["AppSpecification"]["ContainerEntrypoint"]
    assert entry[:2] == ["python3", "-m"]
    assert entry[2].split(".")[0] in _copied()
    env = " ".join(re.findall(r"^ENV (.*?)(?<!\\)$", DOCKERFILE, flags=re.MULTILINE | re.DOTALL))
    venv = re.search(r"UV_PROJECT_ENVIRONMENT=(\S+)", env)[1]
    assert re.search(rf"PATH={re.escape(venv)}/bin:\$PATH", env)  # its python3 comes first
    assert re.search(r"PYTHONPATH=/opt/mlplat\b", env) and "WORKDIR /opt/mlplat" in DOCKERFILE


def test_the_image_installs_the_lock_without_the_test_tools():
    assert "COPY pyproject.toml uv.lock ./" in DOCKERFILE
    assert re.search(r"uv sync --frozen --no-dev", DOCKERFILE)
