"""Kafka (MSK provisioned clusters): who may connect, how, and where the data rests.

The platform's cluster (components/streaming.py) authenticates with IAM only, encrypts client
and broker traffic with TLS and its disks with a customer managed key, has no public access and
sends broker logs to CloudWatch; these rules hold any MSK cluster in a stack to the same.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, Severity

from policies.framework import dig, resource_rule

MSK_CLUSTER = "aws:msk/cluster:Cluster"


@resource_rule(
    name="msk-iam-auth",
    description="MSK clusters authenticate clients with IAM, and admit no unauthenticated one.",
    severity=Severity.HIGH,
    remediation="Set clientAuthentication {sasl: {iam: true}, unauthenticated: false}.",
    resource_types=(MSK_CLUSTER,),
    enforcement=EnforcementLevel.MANDATORY,
)
def msk_iam_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    authentication = args.props.get("clientAuthentication") or {}
    if dig(authentication, "sasl", "iam") is not True:
        report("IAM access control (clientAuthentication.sasl.iam) is off")
    if dig(authentication, "unauthenticated") is True:
        report("unauthenticated clients are admitted (clientAuthentication.unauthenticated)")


@resource_rule(
    name="msk-tls-in-transit",
    description="MSK clusters encrypt client-broker traffic with TLS only, and broker-broker "
    "traffic too.",
    severity=Severity.HIGH,
    remediation="Set encryptionInfo.encryptionInTransit {clientBroker: TLS, inCluster: true}.",
    resource_types=(MSK_CLUSTER,),
    enforcement=EnforcementLevel.MANDATORY,
)
def msk_tls_in_transit(args: ResourceValidationArgs, report: ReportViolation) -> None:
    transit = dig(args.props, "encryptionInfo", "encryptionInTransit", default={})
    # MSK's default for clientBroker is TLS; TLS_PLAINTEXT and PLAINTEXT open a plaintext port.
    if transit.get("clientBroker", "TLS") != "TLS":
        report(f"client-broker traffic allows {transit['clientBroker']} (only TLS)")
    if transit.get("inCluster") is False:
        report("broker-broker traffic is not encrypted (encryptionInTransit.inCluster)")


@resource_rule(
    name="msk-customer-kms",
    description="MSK clusters encrypt their storage with a customer managed KMS key.",
    severity=Severity.MEDIUM,
    remediation="Set encryptionInfo.encryptionAtRestKmsKeyArn to the platform key's ARN.",
    resource_types=(MSK_CLUSTER,),
)
def msk_customer_kms(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not dig(args.props, "encryptionInfo", "encryptionAtRestKmsKeyArn"):
        report("at-rest encryption uses the AWS managed key, not a customer managed key")


@resource_rule(
    name="msk-not-public",
    description="MSK brokers have no public access; clients reach them inside the VPC.",
    severity=Severity.HIGH,
    remediation="Set brokerNodeGroupInfo.connectivityInfo.publicAccess.type to DISABLED.",
    resource_types=(MSK_CLUSTER,),
    enforcement=EnforcementLevel.MANDATORY,
)
def msk_not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    access = dig(args.props, "brokerNodeGroupInfo", "connectivityInfo", "publicAccess", "type")
    if access not in (None, "DISABLED"):
        report(f"brokers are reachable from the internet (publicAccess.type {access})")


@resource_rule(
    name="msk-broker-logs",
    description="MSK clusters send their broker logs somewhere (CloudWatch, S3 or Firehose).",
    severity=Severity.MEDIUM,
    remediation="Set loggingInfo.brokerLogs.cloudwatchLogs {enabled: true, logGroup: ...}.",
    resource_types=(MSK_CLUSTER,),
)
def msk_broker_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    logs = dig(args.props, "loggingInfo", "brokerLogs", default={})
    if not any(dig(logs, sink, "enabled") is True for sink in ("cloudwatchLogs", "s3", "firehose")):
        report("broker logs are off (loggingInfo.brokerLogs)")
