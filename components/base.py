"""What every mlplat component shares: a fixed type token, and an owner its children inherit."""

from __future__ import annotations

from typing import ClassVar

import pulumi

from infra.declarations.tags import Ownership
from infra.tagging import declare_owner


class PlatformComponent(pulumi.ComponentResource):
    """Base of all components. Subclasses set ``TYPE`` to ``mlplat:<module>:<Name>``."""

    TYPE: ClassVar[str]

    def __init__(
        self,
        name: str,
        *,
        owner: Ownership | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if owner is not None:
            declare_owner(self.TYPE, name, owner)
        super().__init__(self.TYPE, name, None, opts)
        self.name = name

    def child_opts(self, **options) -> pulumi.ResourceOptions:
        """Options for a child: parented here, plus whatever the caller adds."""
        return pulumi.ResourceOptions(parent=self, **options)
