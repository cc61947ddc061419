"""Folders show the layers and nothing below imports anything above: the tool (``mlplat``) runs
the policy pack and the cost model, so neither may import the tool, and the cost model, which
both read, stands on the domain alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from infra.project import PROJECT_ROOT

# package -> the first-party packages it must never import (directly or lazily, in a function)
# ``lifecycle`` holds the jobs the stacks run and their contracts (the metrics and rules they
# emit, the event schema, capture sampling): components wire those contracts, and the pack checks
# them, so both may import it; the jobs themselves read two key/name modules of ``components``
# (registry_route, lifecycle.definitions): a known package cycle, to break by moving them down.
BELOW = {
    "cost_model": {"mlplat", "policies", "components", "lifecycle", "stacks", "model_packages"},
    "policies": {"mlplat", "stacks"},
    "components": {"mlplat", "policies", "cost_model"},
    "infra": {"mlplat", "policies", "cost_model"},
    "lifecycle": {"mlplat", "policies", "cost_model", "components"},
}
# The known cycle, and nothing else of it: these files may import that package.
KNOWN = {
    ("lifecycle/drift/publish.py", "components"),  # the registry's keys (registry_route)
    ("lifecycle/drift/config.py", "components"),  # the pipeline's file and env names
}


def imported(path: Path) -> set[str]:
    """The top-level package of every module ``path`` imports, wherever the import stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(BELOW))
def test_no_module_imports_a_package_above_it(package):
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(
            above
            for above in imported(path) & BELOW[package]
            if (str(path.relative_to(PROJECT_ROOT)), above) not in KNOWN
        )
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
    }
    assert {path: above for path, above in offenders.items() if above} == {}


def test_the_imports_are_read_from_the_code(tmp_path):
    """The reader sees lazy imports inside functions (how the pack reached the tool before)."""
    module = tmp_path / "rule.py"
    module.write_text("def check():\n    from mlplat.cost.estimate import estimate\n")
    assert imported(module) == {"mlplat"}
