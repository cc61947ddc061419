"""`infra/` as the Pulumi CLI runs it: a folder run with runpy, which prepends it to sys.path."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from infra.project import PROJECT_ROOT


def test_the_program_folder_cannot_shadow_standard_modules():
    # Inside the run, import `platform` afresh (as any package imported late would): it must be
    # the standard library's, not infra/platform.py.
    script = textwrap.dedent(
        """
        import runpy, sys
        import infra.program

        def run(**options):
            sys.modules.pop("platform", None)
            import platform
            print(platform.__file__)

        infra.program.run = run  # the engine is not here; only the start-up is checked
        runpy.run_path("infra", run_name="__main__")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert "infra" not in result.stdout, result.stdout
    assert result.stdout.strip().endswith("platform.py")
