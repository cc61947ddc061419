"""S3 buckets the platform keeps data in: private, versioned, KMS-encrypted, TLS-only, expiring."""
# (A bucket a service writes to that cannot use a customer key, such as ALB access logs, passes
# ``kms_key_arn=None`` for SSE-S3 and names that writer's grants in ``writers``.)

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.iam_documents import Principal, Statement, render_output


@dataclass(frozen=True)
class Expiry:
    """Objects under ``prefix`` are deleted ``days`` after creation (e.g. captured requests)."""

    prefix: str
    days: int


def tls_only_statements(bucket_arn: str) -> list[Statement]:
    return [
        Statement(
            "DenyInsecureTransport",
            ("s3:*",),
            (bucket_arn, f"{bucket_arn}/*"),
            effect="Deny",
            principal=Principal.anyone(),
            conditions={"Bool": {"aws:SecureTransport": "false"}},
        )
    ]


class SecureBucket(PlatformComponent):
    """A bucket with public access blocked, versioning, SSE-KMS and a TLS-only policy.

    Old versions expire after ``noncurrent_version_days``; ``expiries`` delete current objects
    under a prefix after some days. ``protect`` (prod): protected and retained on delete, and
    never force-destroyed.
    """

    TYPE = "mlplat:buckets:SecureBucket"

    def __init__(
        self,
        name: str,
        *,
        kms_key_arn: pulumi.Input[str] | None,
        protect: bool,
        noncurrent_version_days: int = 30,
        expiries: tuple[Expiry, ...] = (),
        writers: Callable[[str], list[Statement]] | None = None,
        opts=None,
    ) -> None:
        super().__init__(name, opts=opts)
        stateful = self.child_opts(protect=protect, retain_on_delete=protect)
        self.bucket = aws.s3.Bucket(f"{name}-bucket", force_destroy=not protect, opts=stateful)
        self._block_public_access()
        versioning = self._enable_versioning()
        self._encrypt(kms_key_arn)
        self._require_tls(writers)
        self._expire(versioning, noncurrent_version_days, expiries)
        self.name_output: pulumi.Output[str] = self.bucket.bucket
        self.arn: pulumi.Output[str] = self.bucket.arn
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})

    def _block_public_access(self) -> None:
        aws.s3.BucketPublicAccessBlock(
            f"{self.name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self.child_opts(),
        )

    def _enable_versioning(self) -> aws.s3.BucketVersioning:
        return aws.s3.BucketVersioning(
            f"{self.name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=self.child_opts(),
        )

    def _encrypt(self, kms_key_arn: pulumi.Input[str] | None) -> None:
        default = (
            {"sse_algorithm": "AES256"}  # SSE-S3, for writers that cannot use a customer key
            if kms_key_arn is None
            else {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn}
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self.name}-encryption",
            bucket=self.bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": default,
                    "bucket_key_enabled": kms_key_arn is not None,
                }
            ],
            opts=self.child_opts(),
        )

    def _require_tls(self, writers: Callable[[str], list[Statement]] | None) -> None:
        policy = render_output(
            lambda arn: tls_only_statements(arn) + (writers(arn) if writers else []),
            self.bucket.arn,
        )
        aws.s3.BucketPolicy(
            f"{self.name}-tls-only", bucket=self.bucket.id, policy=policy, opts=self.child_opts()
        )

    def _expire(
        self, versioning, noncurrent_version_days: int, expiries: tuple[Expiry, ...]
    ) -> None:
        rules = [
            {
                "id": "expire-noncurrent-versions",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": noncurrent_version_days},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ]
        rules += [
            {
                "id": f"expire-{expiry.prefix.strip('/').replace('/', '-')}",
                "status": "Enabled",
                "filter": {"prefix": expiry.prefix},
                "expiration": {"days": expiry.days},
            }
            for expiry in expiries
        ]
        # AWS rejects lifecycle rules on versions until versioning is configured.
        aws.s3.BucketLifecycleConfiguration(
            f"{self.name}-lifecycle",
            bucket=self.bucket.id,
            rules=rules,
            opts=self.child_opts(depends_on=[versioning]),
        )
