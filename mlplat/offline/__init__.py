"""The offline engine: the Pulumi program on the SDK's mock monitor, and its graph as an export."""

from __future__ import annotations

from typing import Any

# The manifest's generator in every export the offline engine writes.
GENERATOR = "mlplat offline engine (Pulumi SDK mock monitor)"


# ``<env>.*``: every layered stack of the environment at once (README, "Layered stacks").
ALL_LAYERS = ".*"


def preview_stack(stack: str) -> dict[str, Any]:
    """Run the program for ``stack`` offline; return the `pulumi stack export` (v3) document.
    ``<env>.*`` previews every layer of the environment and returns them as one document."""
    from mlplat.offline.engine import capture_stack
    from mlplat.offline.export import to_document

    if stack.endswith(ALL_LAYERS):
        return environment_document(preview_layers(stack.removesuffix(ALL_LAYERS)))
    return to_document(capture_stack(stack))


def environment_document(documents: dict[str, Any]) -> dict[str, Any]:
    """Several stacks' exports as one document of the same shape: the platform's manifest, every
    stack's resources in deployment order (URNs name their stacks, so none collide). Every reader
    of an export (policy check, cost) then judges or sums the whole environment."""
    first = next(iter(documents.values()))
    return {
        "version": first["version"],
        "deployment": {
            "manifest": first["deployment"]["manifest"],
            "resources": [r for d in documents.values() for r in d["deployment"]["resources"]],
        },
    }


def preview_layers(environment: str, config: dict[str, str] | None = None) -> dict[str, Any]:
    """Every layered stack of ``environment``, platform first: stack name -> its export. The
    platform is previewed once; each serving stack resolves its StackReference from it."""
    from infra.layers import layered_stacks, platform_stack
    from mlplat.offline.engine import capture_stack, stack_outputs
    from mlplat.offline.export import to_document

    platform = capture_stack(platform_stack(environment), config)
    outputs = stack_outputs(platform)
    documents = {platform.stack: to_document(platform)}
    teams = {team.name: team.serving_shards for team in platform.spec.teams}
    for stack in layered_stacks(environment, teams, shards=teams)[1:]:
        documents[stack] = to_document(capture_stack(stack, config, platform_outputs=outputs))
    return documents
