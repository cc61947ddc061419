"""Data at rest: DynamoDB tables, S3 buckets, KMS keys, SNS topics.

In pulumi-aws v7 a bucket's public access block, versioning and encryption are separate
resources pointing at the bucket through their `bucket` input, so the S3 rules are stack rules
that relate each bucket (`aws:s3/bucket:Bucket` or `aws:s3/bucketV2:BucketV2`) to its
configuration resources; a bucket's deprecated inline settings are honoured too.
"""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.framework import as_list, dig, of_types, references, resource_rule, stack_rule

TABLE = "aws:dynamodb/table:Table"
BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
VERSIONING_TYPES = (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
)
ENCRYPTION_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
KMS_KEY = "aws:kms/key:Key"
TOPIC = "aws:sns/topic:Topic"
KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})
PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)


@resource_rule(
    name="dynamodb-pitr",
    description="DynamoDB tables have point-in-time recovery on.",
    severity=Severity.HIGH,
    remediation="Set pointInTimeRecovery {enabled: true}.",
    resource_types=(TABLE,),
)
def dynamodb_pitr(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if dig(args.props, "pointInTimeRecovery", "enabled") is not True:
        report("point-in-time recovery is off")


@resource_rule(
    name="dynamodb-customer-kms",
    description="DynamoDB tables are encrypted with a customer-managed KMS key.",
    severity=Severity.HIGH,
    remediation="Set serverSideEncryption {enabled: true, kmsKeyArn: <platform key ARN>}.",
    resource_types=(TABLE,),
)
def dynamodb_customer_kms(args: ResourceValidationArgs, report: ReportViolation) -> None:
    sse = args.props.get("serverSideEncryption") or {}
    if dig(sse, "enabled") is not True or not dig(sse, "kmsKeyArn"):
        report("not encrypted with a customer-managed KMS key (serverSideEncryption)")


@resource_rule(
    name="dynamodb-deletion-protection",
    description="DynamoDB tables have deletion protection on.",
    severity=Severity.HIGH,
    remediation="Set deletionProtectionEnabled=true.",
    resource_types=(TABLE,),
)
def dynamodb_deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("deletionProtectionEnabled") is not True:
        report("deletionProtectionEnabled is not true")


def _configurations(
    args: StackValidationArgs, bucket: PolicyResource, types: tuple[str, ...]
) -> list[PolicyResource]:
    return [
        c
        for c in of_types(args.resources, *types)
        if references(c, "bucket", bucket, "bucket", "id")
    ]


def _judge_buckets(
    args: StackValidationArgs,
    report: ReportViolation,
    problem: Callable[[StackValidationArgs, PolicyResource], str | None],
) -> None:
    for bucket in of_types(args.resources, *BUCKET_TYPES):
        found = problem(args, bucket)
        if found:
            report(found, bucket.urn)


@stack_rule(
    name="s3-public-access-block",
    enforcement=EnforcementLevel.MANDATORY,
    description="Every bucket has a public access block with all four settings on.",
    severity=Severity.CRITICAL,
    remediation="Add aws.s3.BucketPublicAccessBlock(bucket=<bucket>.id) with blockPublicAcls, "
    "blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true.",
)
def s3_public_access_block(args: StackValidationArgs, report: ReportViolation) -> None:
    def problem(args: StackValidationArgs, bucket: PolicyResource) -> str | None:
        blocks = _configurations(args, bucket, (PUBLIC_ACCESS_BLOCK,))
        if not blocks:
            return "no public access block"
        off = [f for f in PUBLIC_ACCESS_FLAGS if not any(b.props.get(f) is True for b in blocks)]
        return f"public access block leaves off: {', '.join(off)}" if off else None

    _judge_buckets(args, report, problem)


@stack_rule(
    name="s3-versioning",
    description="Every bucket keeps object versions.",
    severity=Severity.MEDIUM,
    remediation="Add aws.s3.BucketVersioning(bucket=<bucket>.id, versioningConfiguration="
    '{status: "Enabled"}).',
)
def s3_versioning(args: StackValidationArgs, report: ReportViolation) -> None:
    def problem(args: StackValidationArgs, bucket: PolicyResource) -> str | None:
        if dig(bucket.props, "versioning", "enabled") is True:
            return None
        statuses = [
            dig(c.props, "versioningConfiguration", "status")
            for c in _configurations(args, bucket, VERSIONING_TYPES)
        ]
        if "Enabled" in statuses:
            return None
        return f"versioning is not enabled (configurations: {statuses or 'none'})"

    _judge_buckets(args, report, problem)


def _kms_default(rule: object) -> bool:
    default = dig(rule, "applyServerSideEncryptionByDefault") or {}
    return dig(default, "sseAlgorithm") in KMS_ALGORITHMS and bool(dig(default, "kmsMasterKeyId"))


BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
# ALB access logs support SSE-S3 only ("Bucket requirements",
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html):
# a bucket that ELB's log delivery writes to (its policy names the principal) may use SSE-S3.
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"


def _elb_log_bucket(args: StackValidationArgs, bucket: PolicyResource) -> bool:
    return any(
        ELB_LOG_DELIVERY in str(policy.props.get("policy"))
        for policy in _configurations(args, bucket, (BUCKET_POLICY,))
    )


def _s3_default(rule: object) -> bool:
    return dig(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") == "AES256"


@stack_rule(
    name="s3-sse-kms",
    description="Every bucket encrypts objects by default with SSE-KMS and a customer key "
    "(SSE-S3 where only it is supported: ALB access-log buckets).",
    severity=Severity.HIGH,
    remediation="Add aws.s3.BucketServerSideEncryptionConfiguration(bucket=<bucket>.id, rules="
    '[{applyServerSideEncryptionByDefault: {sseAlgorithm: "aws:kms", kmsMasterKeyId: <key>}, '
    "bucketKeyEnabled: true}]).",
)
def s3_sse_kms(args: StackValidationArgs, report: ReportViolation) -> None:
    def problem(args: StackValidationArgs, bucket: PolicyResource) -> str | None:
        rules = [dig(bucket.props, "serverSideEncryptionConfiguration", "rule")]
        for config in _configurations(args, bucket, ENCRYPTION_TYPES):
            rules.extend(as_list(config.props.get("rules")))
        if any(_kms_default(r) for r in rules if r):
            return None
        if _elb_log_bucket(args, bucket) and any(_s3_default(r) for r in rules if r):
            return None
        return "no default SSE-KMS encryption with a customer-managed key"

    _judge_buckets(args, report, problem)


@resource_rule(
    name="kms-key-rotation",
    description="Symmetric customer-managed KMS keys rotate automatically.",
    severity=Severity.MEDIUM,
    remediation="Set enableKeyRotation=true.",
    resource_types=(KMS_KEY,),
)
def kms_key_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # AWS rotates only symmetric encryption keys; asymmetric and HMAC keys cannot rotate.
    if str(args.props.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        return
    if args.props.get("enableKeyRotation") is not True:
        report("enableKeyRotation is not true")


@resource_rule(
    name="sns-topic-encrypted",
    description="SNS topics are encrypted at rest with KMS.",
    severity=Severity.MEDIUM,
    remediation="Set kmsMasterKeyId to the platform key (a customer key, so CloudWatch and "
    "Budgets can be allowed to use it in the key policy).",
    resource_types=(TOPIC,),
)
def sns_topic_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.props.get("kmsMasterKeyId"):
        report("no kmsMasterKeyId")
