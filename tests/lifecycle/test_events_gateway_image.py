"""The events gateway's image (lifecycle/events/gateway/Dockerfile) holds what its entry point
needs: the locked ``gateway`` dependency group and every first-party module a fresh interpreter
loads to run ``python3 -m lifecycle.events.gateway``. (Not built here: no Docker.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from components.eks_model import RUN_AS
from components.serving.events_gateway import gateway_container
from infra.project import PROJECT_ROOT

DOCKERFILE = (PROJECT_ROOT / "lifecycle" / "events" / "gateway" / "Dockerfile").read_text()
ENTRY = "lifecycle.events.gateway.__main__"


def _copied() -> list[str]:
    """COPY sources (paths relative to the project; a trailing / is a directory)."""
    sources = []
    for line in re.findall(r"^COPY (.+)$", DOCKERFILE, flags=re.MULTILINE):
        *from_, _to = line.split()
        sources += from_
    return sources


def _loaded_first_party() -> tuple[set[str], set[str]]:
    """(project files, top-level distributions) a fresh interpreter loads for the entry point."""
    code = (
        "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
        "print(json.dumps(sorted({getattr(m, '__file__', None) or '' for m in "
        "list(sys.modules.values())})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, ENTRY], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    files = {Path(f).resolve() for f in json.loads(out.stdout) if f}
    ours = {str(f.relative_to(PROJECT_ROOT)) for f in files if f.is_relative_to(PROJECT_ROOT)}
    ours = {f for f in ours if not f.startswith(".venv/")}
    return ours, files


def test_the_image_copies_every_module_the_entry_point_imports():
    loaded, _ = _loaded_first_party()
    sources = _copied()
    assert "lifecycle/events/gateway/__main__.py" in loaded
    missing = [
        f
        for f in sorted(loaded)
        if not any(f == s or (s.endswith("/") and f.startswith(s)) for s in sources)
    ]
    assert not missing, f"not copied into the image: {missing}"


def test_the_entry_point_loads_nothing_of_the_pulumi_program():
    """The sidecar's image has the gateway group only: no pydantic, pulumi or SageMaker SDK."""
    _, files = _loaded_first_party()
    heavy = {"pulumi", "pydantic", "sagemaker", "pandas", "mlflow"}
    site = [f for f in files if "site-packages" in f.parts]
    packages = {f.parts[f.parts.index("site-packages") + 1] for f in site}
    assert not heavy & packages, heavy & packages


def test_the_image_installs_the_locked_gateway_group_which_the_entry_point_needs():
    assert "COPY pyproject.toml uv.lock ./" in DOCKERFILE
    assert re.search(r"uv sync --frozen --only-group gateway --no-install-project", DOCKERFILE)
    group = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["dependency-groups"][
        "gateway"
    ]
    names = {re.match(r"[A-Za-z0-9_.-]+", requirement)[0].lower() for requirement in group}
    _, files = _loaded_first_party()
    site = [f for f in files if "site-packages" in f.parts]
    packages = {f.parts[f.parts.index("site-packages") + 1].lower() for f in site}
    for imported, distribution in (
        ("confluent_kafka", "confluent-kafka"),
        ("aws_msk_iam_sasl_signer", "aws-msk-iam-sasl-signer-python"),
        ("jsonschema", "jsonschema"),
    ):
        assert imported in packages and distribution in names


def test_the_pod_runs_the_images_entry_point_as_the_images_user():
    from components.serving.events_gateway import EventsTarget

    container = gateway_container(
        "m", 1, EventsTarget("arn", "t", "b:9098", "img", "us-east-1"), model_port=8080, security={}
    )
    assert container["command"] == ["python3", "-m", "lifecycle.events.gateway"]
    assert re.search(r'^CMD \["python3", "-m", "lifecycle.events.gateway"\]$', DOCKERFILE, re.M)
    assert re.search(rf"^USER {RUN_AS}$", DOCKERFILE, re.M)  # the pod's runAsUser
    assert re.search(r"PYTHONDONTWRITEBYTECODE=1", DOCKERFILE)  # read-only root filesystem
