"""Entry point of `pulumi up --stack <env>`: validate the stack's declarations, then build."""

import os
import sys

# The Pulumi CLI runs this folder as a script (runpy), which puts it first on sys.path: our
# platform.py would then shadow the standard library's `platform` for every package imported
# after it. The project itself is importable as installed by the uv toolchain.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != _HERE]

import pulumi  # noqa: E402

from infra import program  # noqa: E402
from infra.declarations import SpecError  # noqa: E402
from model_packages.packaging import PackagingError  # noqa: E402

try:
    program.run(real_engine=True)
except SpecError as error:
    # RunError makes the CLI print the message alone, without a Python traceback.
    raise pulumi.RunError(error.render()) from None
except PackagingError as error:
    raise pulumi.RunError(f"cannot package a model: {error}") from None
