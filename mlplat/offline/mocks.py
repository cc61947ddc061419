"""Pulumi mocks that answer as AWS would for one account and region (see ``identities``)."""

from __future__ import annotations

import hashlib
from typing import Any

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from mlplat.offline.identities import IDENTITIES, Context, invoke_result, resource_outputs
from mlplat.offline.stack_references import REFERENCE_TYPE, StackReferences


class AwsLikeMocks(Mocks):
    def __init__(
        self, region: str, account: str, references: StackReferences | None = None
    ) -> None:
        self.region, self.account = region, account
        self.references = references or StackReferences()

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == REFERENCE_TYPE:  # read, not created: the id is the referenced stack
            return args.resource_id, self.references.read(args.resource_id)
        if not args.custom and args.typ not in IDENTITIES:
            # Our components have no physical identity; remote ones (pulumi-eks) have a row.
            return "", {}
        urn = getattr(args, "urn", args.name)
        if args.typ.startswith("pulumi:providers:"):
            return self.provider_id(urn), dict(args.inputs)  # the engine gives providers UUIDs
        ctx = Context(
            urn=urn,
            type_=args.typ,
            name=args.name,
            inputs=args.inputs,
            # A resource created through an explicit provider lives in that provider's region.
            region=getattr(args, "region", None) or self.region,
            account=self.account,
        )
        return resource_outputs(ctx)

    def call(self, args: MockCallArgs) -> dict[str, Any]:
        return invoke_result(args.token, args.args, self.region, self.account)

    def provider_id(self, urn: str) -> str:
        digest = hashlib.sha256(urn.encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"

    def provider_inputs(self, package: str, version: str) -> dict[str, Any]:
        inputs: dict[str, Any] = {"version": version} if version else {}
        if package == "aws":
            inputs["region"] = self.region
        return inputs
