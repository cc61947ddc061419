"""The offline engine: the Pulumi program on the SDK's mock monitor, and its graph as an export."""

from __future__ import annotations

from typing import Any

# The manifest's generator in every export the offline engine writes.
GENERATOR = "mlplat offline engine (Pulumi SDK mock monitor)"


def preview_stack(stack: str) -> dict[str, Any]:
    """Run the program for ``stack`` offline; return the `pulumi stack export` (v3) document."""
    from infra.offline.engine import capture_stack
    from infra.offline.export import to_document

    return to_document(capture_stack(stack))
