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


def preview_layers(environment: str, config: dict[str, str] | None = None) -> dict[str, Any]:
    """Every layered stack of ``environment``, platform first: stack name -> its export. The
    platform is previewed once; each serving stack resolves its StackReference from it."""
    from infra.layers import layered_stacks, platform_stack
    from infra.offline.engine import capture_stack, stack_outputs
    from infra.offline.export import to_document

    platform = capture_stack(platform_stack(environment), config)
    outputs = stack_outputs(platform)
    documents = {platform.stack: to_document(platform)}
    for stack in layered_stacks(environment, [team.name for team in platform.spec.teams])[1:]:
        documents[stack] = to_document(capture_stack(stack, config, platform_outputs=outputs))
    return documents
