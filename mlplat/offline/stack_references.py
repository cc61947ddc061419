"""Stack references, offline: a serving stack reads its platform stack's previewed outputs.

The engine answers a ``pulumi.StackReference`` with the referenced stack's outputs and the names of
those that are secret. Offline, the outputs are those the platform stack's preview captured on its
root ``pulumi:pulumi:Stack`` resource, where secrets are marked as `--show-secrets` writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlplat.offline.monitor import SECRET_SIG, SIG_KEY

REFERENCE_TYPE = "pulumi:pulumi:StackReference"


class UnresolvedReference(LookupError):
    pass


class StackReferences:
    """Fully qualified stack name (``<org>/<project>/<stack>``) -> that stack's outputs."""

    def __init__(self, outputs_by_stack: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._outputs = dict(outputs_by_stack or {})

    def add(self, stack: str, outputs: Mapping[str, Any]) -> None:
        self._outputs[stack] = dict(outputs)

    def read(self, stack: str) -> dict[str, Any]:
        """The state the engine gives a StackReference: name, plain outputs, secret names."""
        if stack not in self._outputs:
            known = ", ".join(sorted(self._outputs)) or "none"
            raise UnresolvedReference(
                f"no preview of stack {stack!r} to resolve a StackReference (previewed: {known})"
            )
        outputs, secrets = {}, []
        for key, value in self._outputs[stack].items():
            if isinstance(value, Mapping) and value.get(SIG_KEY) == SECRET_SIG:
                outputs[key], secrets = value.get("plaintext"), [*secrets, key]
            else:
                outputs[key] = value
        return {"name": stack, "outputs": outputs, "secretOutputNames": sorted(secrets)}
