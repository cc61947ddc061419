"""Customer-managed KMS keys: one per environment encrypts its data, captures and logs."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent


class PlatformKey(PlatformComponent):
    TYPE = "mlplat:encryption:PlatformKey"

    def __init__(self, name: str, *, description: str, protect: bool, opts=None) -> None:
        super().__init__(name, opts=opts)
        self.key = aws.kms.Key(
            f"{name}-key",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=self.child_opts(protect=protect, retain_on_delete=protect),
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias", name=f"alias/{name}", target_key_id=self.key.key_id, opts=self.child_opts()
        )
        self.arn: pulumi.Output[str] = self.key.arn
        self.register_outputs({"arn": self.arn, "alias": self.alias.name})
