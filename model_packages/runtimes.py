"""What each serving container gives a model archive, and whether an archive can load in it.

An archive runs inside a serving image whose Python environment is fixed: what the archive's code
imports (and what its pickles name) must be in the image's standard library, in the packages the
image installs, or in the archive itself. ``archive_problems`` finds what is missing without
running anything, so ``mlplat models package`` refuses such an archive; the serving tests run
every shipped archive under an import blocker built from the same tables (``allowed_modules``).

Runtimes (the sources of each table are noted beside it):
- NVIDIA Triton's Python backend (GPU multi-model endpoints): the stub loads ``<model>/1/model.py``
  with ``<model>/1`` and ``<model>`` on ``sys.path`` (python_backend ``src/pb_stub.cc``). It runs
  the MLflow model's entry point (``ENTRY_POINT_KEY`` in the MLmodel's metadata) from the model's
  code paths, so the archive needs no execution environment (``EXECUTION_ENV_PATH``).
- The SageMaker scikit-learn container: ``code/inference.py`` (``SAGEMAKER_PROGRAM``) and the
  pickle its ``model_fn`` opens.
"""

from __future__ import annotations

import ast
import io
import pickletools
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

import yaml

# MLmodel metadata key naming "module:Class" in the model's code paths: constructed with
# {artifact name: local path}, predict(float32 batch) -> float32 batch; no MLflow needed.
ENTRY_POINT_KEY = "mlplat_entry_point"
TRITON_HANDLER = "model.py"
SKLEARN_PROGRAM = "code/inference.py"

Entry = tuple[str, bytes, int]  # archive path, content, mode (as model_packages.packaging)


@dataclass(frozen=True)
class Runtime:
    name: str  # as messages name it
    provides: frozenset[str]  # top-level modules importable besides the standard library
    source: str

    def missing(self, modules: Iterable[str], own: Iterable[str]) -> set[str]:
        return set(modules) - allowed_modules(self, own)


# triton_python_backend_utils is the backend's own module (src/resources/...), backed by the
# stub's c_python_backend_utils; it imports numpy, which the backend requires (README,
# "Requirements"). The image installs nothing else for models: MLflow, torch or scikit-learn
# need an execution environment (conda-pack, EXECUTION_ENV_PATH in config.pbtxt).
TRITON = Runtime(
    name="the Triton image's Python backend",
    provides=frozenset({"numpy", "triton_python_backend_utils", "c_python_backend_utils"}),
    source="triton-inference-server/python_backend: src/resources/"
    "triton_python_backend_utils.py imports json, struct, numpy; README 'Requirements: numpy'",
)
# The image's requirements.txt (aws/sagemaker-scikit-learn-container, sklearn 1.9.0), as import
# names, plus the packages those pull in.
SKLEARN = Runtime(
    name="the SageMaker scikit-learn image",
    provides=frozenset(
        {
            *("numpy", "sklearn", "scipy", "narwhals", "joblib", "threadpoolctl", "pandas"),
            *("pyarrow", "boto3", "botocore", "certifi", "cryptography", "flask", "gevent"),
            *("gunicorn", "model_archiver", "mms", "google", "psutil", "dateutil", "yaml"),
            *("retrying", "sagemaker_containers", "sagemaker_inference", "sagemaker_training"),
            *("sagemaker_sklearn_container", "setuptools", "pkg_resources", "six", "urllib3"),
            *("werkzeug", "wheel", "pytz", "tzdata", "jmespath", "s3transfer", "click"),
            *("jinja2", "markupsafe", "itsdangerous", "blinker", "greenlet", "zope", "cffi"),
            *("packaging", "cloudpickle"),
        }
    ),
    source="aws/sagemaker-scikit-learn-container requirements.txt (scikit-learn==1.9.0)",
)


def allowed_modules(runtime: Runtime, own: Iterable[str] = ()) -> frozenset[str]:
    """Top-level modules importable in the runtime: its stdlib, its packages, the archive's own.

    The standard library is this interpreter's (``sys.stdlib_module_names``); the images' Python
    may be older, which only matters for modules added since.
    """
    return frozenset(sys.stdlib_module_names) | runtime.provides | frozenset(own)


class ArchiveProblem(Exception):
    """The archive cannot load in its serving runtime (the message names file and module)."""


def archive_problems(entries: list[Entry], triton: bool) -> list[str]:
    """Why the archive built from ``entries`` cannot load in its container; empty when it can."""
    files = {name: content for name, content, _ in entries}
    return _triton_problems(files) if triton else _framework_problems(files)


def _triton_problems(files: dict[str, bytes]) -> list[str]:
    (handler,) = [name for name in files if name.endswith(f"/1/{TRITON_HANDLER}")]
    version_dir = PurePosixPath(handler).parent
    mlmodel = yaml.safe_load(files[f"{version_dir}/mlflow_model/MLmodel"]) or {}
    entry = (mlmodel.get("metadata") or {}).get(ENTRY_POINT_KEY)
    if not entry:
        return [
            f"{version_dir}/mlflow_model/MLmodel: metadata.{ENTRY_POINT_KEY} is not set, so "
            f"{TRITON.name} could only load the model through MLflow, which it does not have "
            "(save the model with metadata={'" + ENTRY_POINT_KEY + "': 'module:Class'} and the "
            "module in code_paths)"
        ]
    code_dir = f"{version_dir}/mlflow_model/{_code_dir(mlmodel)}"
    module = entry.split(":")[0]
    code = {n: c for n, c in files.items() if n.startswith(f"{code_dir}/") and n.endswith(".py")}
    own = _module_names(code, code_dir) | _module_names({handler: files[handler]}, str(version_dir))
    problems = []
    if module.split(".")[0] not in own:
        problems.append(f"{code_dir}: no module {module} (the entry point {entry})")
    for name, content in sorted({handler: files[handler], **code}.items()):
        for missing in sorted(TRITON.missing(imported_modules(content, name), own)):
            problems.append(_missing(name, missing, TRITON))
    return problems


def _framework_problems(files: dict[str, bytes]) -> list[str]:
    mlmodel = yaml.safe_load(files.get("MLmodel", b"")) or {}
    sklearn = (mlmodel.get("flavors") or {}).get("sklearn")
    if sklearn is None:
        flavors = ", ".join(sorted(mlmodel.get("flavors") or {})) or "none"
        return [
            f"MLmodel: no sklearn flavour (flavours: {flavors}); the framework containers get a "
            f"handler ({SKLEARN_PROGRAM}) only for scikit-learn models"
        ]
    code = {n: c for n, c in files.items() if n.startswith("code/") and n.endswith(".py")}
    own = _module_names(code, "code")
    problems = [
        _missing(name, missing, SKLEARN)
        for name, content in sorted(code.items())
        for missing in sorted(SKLEARN.missing(imported_modules(content, name), own))
    ]
    pickled = sklearn.get("pickled_model", "model.pkl")
    if sklearn.get("serialization_format", "cloudpickle") != "pickle":
        problems.append(
            f"MLmodel: serialization_format {sklearn.get('serialization_format')}; the handler "
            "opens the model with pickle (save it with serialization_format='pickle')"
        )
    elif pickled not in files:
        problems.append(f"{pickled}: missing (named by MLmodel's sklearn flavour)")
    else:
        for missing in sorted(SKLEARN.missing(pickled_modules(files[pickled]), own)):
            problems.append(_missing(pickled, missing, SKLEARN, verb="unpickles classes from"))
    return problems


def _missing(name: str, module: str, runtime: Runtime, verb: str = "imports") -> str:
    return f"{name} {verb} {module}, which {runtime.name} does not provide nor the archive carry"


def _code_dir(mlmodel: dict) -> str:
    pyfunc = (mlmodel.get("flavors") or {}).get("python_function") or {}
    return pyfunc.get("code") or "code"


def _module_names(files: dict[str, bytes], root: str) -> set[str]:
    """Top-level modules a directory on sys.path offers: its .py files and packages."""
    names = set()
    for name in files:
        parts = PurePosixPath(name).relative_to(root).parts
        names.add(parts[0].removesuffix(".py"))
    return names


def imported_modules(source: bytes, filename: str = "<archive>") -> set[str]:
    """Top-level modules a Python file imports, anywhere in it (lazy imports too)."""
    modules = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def pickled_modules(data: bytes) -> set[str]:
    """Top-level modules whose classes or functions a pickle names (it imports them to load)."""
    return {qualified.split(".")[0] for qualified in _pickle_globals(data)}


def _pickle_globals(data: bytes) -> Iterator[str]:
    strings: list[str] = []  # string constants pushed so far (STACK_GLOBAL takes the last two)
    memo: dict[int, str | None] = {}
    last: str | None = None  # the value the previous opcode pushed, when it was a string
    for opcode, arg, _ in pickletools.genops(io.BytesIO(data)):
        pushed = None
        if opcode.name == "GLOBAL":  # protocols 0-3: "module name"
            yield str(arg).split(" ")[0]
        elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
            yield strings[-2]
        elif isinstance(arg, str) and "UNICODE" in opcode.name:
            pushed = arg
        elif opcode.name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
            # Memoizes the top of the stack, which stays (MEMOIZE: protocol 4+, next index).
            memo[len(memo) if arg is None else arg] = last
            continue
        elif opcode.name in ("GET", "BINGET", "LONG_BINGET"):
            pushed = memo.get(arg)
        if pushed is not None:
            strings.append(pushed)
        last = pushed
