"""`infra/` as the Pulumi CLI runs it: a folder executed with runpy."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from infra.loader import PROJECT_ROOT


def test_running_the_folder_does_not_shadow_the_standard_library():
    script = textwrap.dedent(
        """
        import runpy, sys
        import infra.program
        infra.program.run = lambda: None  # the engine is not here; only the start-up is checked
        runpy.run_path("infra", run_name="__main__")
        import platform
        print(platform.__file__)
        print(platform.system())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    module_file, system = result.stdout.split()
    assert "infra" not in module_file
    assert system == "Linux"
