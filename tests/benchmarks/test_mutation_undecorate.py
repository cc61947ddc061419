"""benchmarks/mutation.py's rewrite of the rule decorators: mutmut mutates only undecorated
functions, so the copy it measures spells `@rule(...) def f` as `def f` then `f = rule(...)(f)`,
which must build the same rule and leave everything else as it was."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The rewrite uses libcst, which comes with mutmut in the `mutation` dependency group only.
pytest.importorskip("libcst", reason="the mutation dependency group is not installed")


def _tool():
    spec = importlib.util.spec_from_file_location("mutation_tool", ROOT / "benchmarks/mutation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


SOURCE = """
def rule(**meta):
    def declare(check):
        return (meta, check)
    return declare


def outer(check):
    return ("outer", check)


@rule(name="a")
def first(x):
    return x + 1


@outer
@rule(name="b")
def stacked(x):
    return x * 2


@staticmethod
def other(x):
    return x


def plain(x):
    return x
"""


def test_decorated_rules_become_plain_functions_wrapped_after_them(tmp_path):
    path = tmp_path / "rules.py"
    path.write_text(SOURCE)
    _tool()._undecorate(path, ("rule", "outer"))
    text = path.read_text()
    assert "@rule" not in text and "@outer" not in text
    assert "@staticmethod" in text  # a decorator not listed is left alone
    assert 'first = rule(name="a")(first)' in text
    assert 'stacked = outer(rule(name="b")(stacked))' in text
    namespace: dict = {}
    exec(compile(text, str(path), "exec"), namespace)
    meta, check = namespace["first"]
    assert meta == {"name": "a"} and check(1) == 2
    outer, (meta, check) = namespace["stacked"]
    assert outer == "outer" and meta == {"name": "b"} and check(3) == 6
    assert namespace["plain"](5) == 5


def test_every_rule_module_keeps_its_rules_once_rewritten(tmp_path):
    """Each policies/rules module, rewritten, declares the same rules by name."""
    tool = _tool()
    module = tool.MODULES["policy_rules"]
    for source in sorted(ROOT.glob("policies/rules/*.py")):
        copy = tmp_path / source.name
        copy.write_text(source.read_text())
        tool._undecorate(copy, module.undecorate)
        text = copy.read_text()
        for decorator in module.undecorate:
            assert f"@{decorator}" not in text, source.name
        assert text.count("name=") == source.read_text().count("name="), source.name
