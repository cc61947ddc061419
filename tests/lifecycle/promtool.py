"""Prometheus's rule checker, ``promtool`` (Debian package ``prometheus``; .ci/run installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def promtool() -> str:
    """Its path; in CI (``CI=true``) a missing promtool fails the test, locally it skips it."""
    found = shutil.which("promtool")
    if found:
        return found
    message = "promtool not found: apt-get install prometheus (.ci/run does)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [promtool(), *map(str, args)], capture_output=True, text=True, timeout=120
    )
