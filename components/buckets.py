"""S3 buckets the platform keeps data in: private, versioned, KMS-encrypted, TLS-only."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent


class SecureBucket(PlatformComponent):
    TYPE = "mlplat:buckets:SecureBucket"

    def __init__(self, name: str, *, kms_key_arn: pulumi.Input[str], protect: bool, opts=None) -> None:
        super().__init__(name, opts=opts)
        stateful = self.child_opts(protect=protect, retain_on_delete=protect)
        self.bucket = aws.s3.Bucket(f"{name}-bucket", force_destroy=not protect, opts=stateful)
        self._block_public_access()
        self._enable_versioning()
        self._encrypt(kms_key_arn)
        self._require_tls()
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

    def _enable_versioning(self) -> None:
        aws.s3.BucketVersioning(
            f"{self.name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=self.child_opts(),
        )

    def _encrypt(self, kms_key_arn: pulumi.Input[str]) -> None:
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self.name}-encryption",
            bucket=self.bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": kms_key_arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=self.child_opts(),
        )

    def _require_tls(self) -> None:
        policy = self.bucket.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [arn, f"{arn}/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            )
        )
        aws.s3.BucketPolicy(f"{self.name}-tls-only", bucket=self.bucket.id, policy=policy, opts=self.child_opts())
