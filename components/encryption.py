"""Customer-managed KMS keys: one per environment encrypts its data; alert topics get their own.

The key policy delegates to IAM in the owning account (the standard root statement, so role
policies decide who uses the key) and lets named AWS services (CloudWatch, Budgets) encrypt
messages for topics the key protects: those services are not IAM principals of the account and
can only be admitted by the key policy, scoped to this account with ``aws:SourceAccount``.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.iam_documents import Principal, Statement, render_output


def key_policy_statements(account: str, service_principals: tuple[str, ...]) -> list[Statement]:
    statements = [
        Statement(
            "EnableIamPolicies",
            ("kms:*",),
            ("*",),  # in a key policy "*" means this key
            principal=Principal.account(account),
        )
    ]
    if service_principals:
        statements.append(
            Statement(
                "AllowServicesToEncryptForTopics",
                ("kms:Decrypt", "kms:GenerateDataKey*"),
                ("*",),
                principal=Principal.service(*service_principals),
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
    return statements


class PlatformKey(PlatformComponent):
    """A rotating customer-managed key with an alias ``alias/<name>``.

    ``protect`` (prod): the key is protected from deletion by Pulumi and retained on delete.
    ``service_principals``: AWS services allowed to use the key for SNS messages.
    """

    TYPE = "mlplat:encryption:PlatformKey"

    def __init__(
        self,
        name: str,
        *,
        description: str,
        protect: bool,
        account: pulumi.Input[str],
        service_principals: tuple[str, ...] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, opts=opts)
        self.key = aws.kms.Key(
            f"{name}-key",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=render_output(
                lambda acct: key_policy_statements(acct, service_principals), account
            ),
            opts=self.child_opts(protect=protect, retain_on_delete=protect),
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias",
            name=f"alias/{name}",
            target_key_id=self.key.key_id,
            opts=self.child_opts(),
        )
        self.arn: pulumi.Output[str] = self.key.arn
        self.register_outputs({"arn": self.arn, "alias": self.alias.name})
