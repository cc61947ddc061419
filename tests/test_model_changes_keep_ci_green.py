"""The ML engineer's loop, end to end: in a copy of the repository, add a model exactly as the
README documents (its package, a stack line, `mlplat models place`), remove one from a stack and
change one; then everything CI runs (.ci/run: the tests, the linter, the policy checks of every
stack) must pass on the copy. A test that pinned the example models would fail here.

The copy runs on this environment's interpreter (no second install): `python -m ...` with the
copy as working directory puts the copy first on sys.path, which the test checks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.project import PROJECT_ROOT

# Set in the copy's run, so that this test does not run itself again there.
INSIDE_COPY = "MLPLAT_TEST_INSIDE_REPOSITORY_COPY"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(os.environ.get(INSIDE_COPY)), reason="already inside the copy"),
]

README = (PROJECT_ROOT / "README.md").read_text()


def readme_blocks(section: str) -> list[str]:
    text = README.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def copy_repository(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def run(copy: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=copy,
        env={**os.environ, INSIDE_COPY: "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def add_model_as_the_readme_says(copy: Path, stacks: tuple[str, ...]) -> None:
    declaration, stack_line = readme_blocks("Declaring a model")
    package = copy / "model_packages" / "upsell_scorer"
    package.mkdir()
    # A small real MLflow model for its artifact, as the example packages ship one.
    shutil.copytree(
        copy / "model_packages" / "churn_predictor" / "mlflow_model", package / "mlflow_model"
    )
    (package / "__init__.py").write_text(
        declaration.replace("churn-predictor", "upsell-scorer").replace(
            "churn_predictor", "upsell_scorer"
        )
    )
    entry = next(line for line in stack_line.splitlines() if ".model" in line)
    entry = entry.replace("churn_predictor", "upsell_scorer")
    for stack in stacks:  # the import joins the stack's, the line ends its models list
        path = copy / "stacks" / f"{stack}.py"
        text = path.read_text()
        imports = text.index("from model_packages import (")
        closing = text.index(")", imports)
        text = text[:closing] + "    upsell_scorer,\n" + text[closing:]
        assert text.rstrip().endswith("]"), "the stack file's models list is not last"
        path.write_text(text.rstrip()[:-1] + "    " + entry.strip() + "\n]\n")


def remove_model(copy: Path, stack: str, package: str) -> None:
    path = copy / "stacks" / f"{stack}.py"
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{package}.model"))
    end = start
    while not lines[end].rstrip().endswith(","):  # an override may span lines
        end += 1
    del lines[start : end + 1]
    lines.remove(f"    {package},\n")  # and its import, which would be unused
    path.write_text("".join(lines))


def change_model(copy: Path, package: str) -> None:
    path = copy / "model_packages" / package / "__init__.py"
    text = path.read_text()
    changed = re.sub(r'"memory_mb": \d+', '"memory_mb": 1024', text)
    changed = re.sub(r"version=(\d+)", lambda m: f"version={int(m[1]) + 1}", changed, count=1)
    assert changed != text
    path.write_text(changed)


def test_adding_removing_and_changing_models_keeps_every_check_green(tmp_path):
    copy = copy_repository(tmp_path / "repository")
    where = subprocess.run(
        [sys.executable, "-c", "import infra; print(infra.__file__)"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(copy)), f"the copy's run imports {where}, not the copy"

    add_model_as_the_readme_says(copy, ("dev", "staging"))
    remove_model(copy, "prod", "chargeback_risk")
    change_model(copy, "fraud_scorer")
    for stack in ("dev", "staging", "prod"):
        run(copy, "mlplat.cli", "models", "place", "--stack", stack)  # as the README says
    placed = (copy / "stacks" / "dev.placement.json").read_text()
    assert '"upsell-scorer"' in placed
    assert '"chargeback-risk"' not in (copy / "stacks" / "prod.placement.json").read_text()

    run(copy, "pytest", "-q", "-x", "-p", "no:cacheprovider")
    run(copy, "ruff", "check", ".")
    for stack in ("dev", "staging", "prod"):
        run(copy, "mlplat.cli", "policy", "check", "--stack", stack)
