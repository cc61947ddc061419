"""Options the `mlplat` commands share."""

from __future__ import annotations

from typing import Any

import typer


def existing_file(help: str) -> Any:
    """An option naming a file that must exist (typer refuses a missing one with exit 2)."""
    return typer.Option(help=help, exists=True, dir_okay=False)
