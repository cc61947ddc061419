"""Protection rules: in prod, Pulumi must refuse to delete the resources that hold state."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.framework import is_prod, resource_rule

STATEFUL_TYPES = (
    "aws:dynamodb/table:Table",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:kms/key:Key",
)


@resource_rule(
    name="prod-stateful-protected",
    description="In prod, tables, buckets and KMS keys are protected from deletion by Pulumi.",
    severity=Severity.HIGH,
    remediation="Create the resource with ResourceOptions(protect=True, retain_on_delete=True) "
    "in prod.",
    resource_types=STATEFUL_TYPES,
)
def prod_stateful_protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if is_prod(args.urn) and not args.opts.protect:
        report("not protected (protect=False)")
