"""EKS control plane rules.

Both shapes of a cluster are judged: the pulumi-eks component (`eks:index:Cluster`, what the
offline engine records, since the component is remote) with pulumi-eks's input names, and the
`aws:eks/cluster:Cluster` it creates under the real engine. `_ClusterView` reads either into one
shape so each rule is written once. Missing settings take the AWS/pulumi-eks defaults (public
endpoint on, private off, no log types, CONFIG_MAP authentication).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.framework import as_list, dig, is_prod, resource_rule, setting

EKS_COMPONENT = "eks:index:Cluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
CLUSTER_TYPES = (EKS_COMPONENT, EKS_CLUSTER)

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


@dataclass(frozen=True)
class _ClusterView:
    endpoint_private: bool
    endpoint_public: bool
    public_cidrs: tuple[str, ...]
    secrets_key_arn: str | None
    log_types: frozenset[str]
    authentication_mode: str
    version: str | None

    @classmethod
    def of(cls, resource_type: str, props: Any) -> _ClusterView:
        if resource_type == EKS_COMPONENT:
            return cls(
                endpoint_private=bool(props.get("endpointPrivateAccess", False)),
                endpoint_public=bool(dig(props, "endpointPublicAccess", default=True)),
                public_cidrs=tuple(as_list(props.get("publicAccessCidrs"))),
                secrets_key_arn=props.get("encryptionConfigKeyArn"),
                log_types=frozenset(as_list(props.get("enabledClusterLogTypes"))),
                authentication_mode=str(props.get("authenticationMode") or "CONFIG_MAP"),
                version=props.get("version"),
            )
        encryption = next(
            (
                c
                for c in as_list(props.get("encryptionConfig"))
                if "secrets" in as_list(dig(c, "resources"))
            ),
            None,
        )
        return cls(
            endpoint_private=bool(dig(props, "vpcConfig", "endpointPrivateAccess", default=False)),
            endpoint_public=bool(dig(props, "vpcConfig", "endpointPublicAccess", default=True)),
            public_cidrs=tuple(as_list(dig(props, "vpcConfig", "publicAccessCidrs"))),
            secrets_key_arn=dig(encryption, "provider", "keyArn"),
            log_types=frozenset(as_list(props.get("enabledClusterLogTypes"))),
            authentication_mode=str(
                dig(props, "accessConfig", "authenticationMode", default="CONFIG_MAP")
            ),
            version=props.get("version"),
        )


def _cluster(args: ResourceValidationArgs) -> _ClusterView:
    return _ClusterView.of(args.resource_type, args.props)


@resource_rule(
    name="eks-private-endpoint-in-prod",
    description="In prod the EKS API endpoint is private only.",
    severity=Severity.HIGH,
    remediation="Set endpointPrivateAccess=true and endpointPublicAccess=false on the prod "
    "cluster; reach the API through the VPC (VPN, bastion or CI runners in the VPC).",
    resource_types=CLUSTER_TYPES,
)
def eks_private_endpoint_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_prod(args.urn):
        return
    cluster = _cluster(args)
    if cluster.endpoint_public or not cluster.endpoint_private:
        report(f"endpoint private={cluster.endpoint_private}, public={cluster.endpoint_public}")


@resource_rule(
    name="eks-public-endpoint-restricted",
    description="A public EKS API endpoint is reachable only from configured CIDRs, never "
    "the whole internet.",
    severity=Severity.HIGH,
    remediation="Set publicAccessCidrs to the office/VPN ranges, or turn the public endpoint off.",
    resource_types=CLUSTER_TYPES,
)
def eks_public_endpoint_restricted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cluster = _cluster(args)
    if not cluster.endpoint_public:
        return
    # AWS opens an endpoint without publicAccessCidrs to 0.0.0.0/0.
    open_to = OPEN_CIDRS.intersection(cluster.public_cidrs) or (not cluster.public_cidrs)
    if open_to:
        report(
            f"public endpoint open to the internet (publicAccessCidrs={list(cluster.public_cidrs)})"
        )


@resource_rule(
    name="eks-secrets-encryption",
    description="Kubernetes secrets are envelope-encrypted with a customer-managed KMS key.",
    severity=Severity.HIGH,
    remediation="Pass the platform KMS key ARN as encryptionConfigKeyArn (pulumi-eks) or "
    "encryptionConfig {resources: [secrets], provider.keyArn} (aws.eks.Cluster).",
    resource_types=CLUSTER_TYPES,
)
def eks_secrets_encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _cluster(args).secrets_key_arn:
        report("no KMS key encrypts the cluster's secrets")


@resource_rule(
    name="eks-control-plane-logging",
    description="All five EKS control-plane log types are sent to CloudWatch.",
    severity=Severity.MEDIUM,
    remediation=f"Set enabledClusterLogTypes to {list(CONTROL_PLANE_LOG_TYPES)}.",
    resource_types=CLUSTER_TYPES,
)
def eks_control_plane_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    missing = [t for t in CONTROL_PLANE_LOG_TYPES if t not in _cluster(args).log_types]
    if missing:
        report(f"control-plane log types not enabled: {', '.join(missing)}")


@resource_rule(
    name="eks-authentication-mode-api",
    description="The cluster authenticates through EKS access entries (mode API), not aws-auth.",
    severity=Severity.MEDIUM,
    remediation='Set authenticationMode="API" and map IAM roles with access entries.',
    resource_types=CLUSTER_TYPES,
)
def eks_authentication_mode_api(args: ResourceValidationArgs, report: ReportViolation) -> None:
    mode = _cluster(args).authentication_mode
    if mode != "API":
        report(f"authenticationMode is {mode}")


_VERSIONS = {
    "allowedVersions": {
        "type": "array",
        "items": {"type": "string"},
        # Standard support on 2026-11-28 (infra/eks_support.py): 1.33 ended on 2026-07-29.
        "description": "Kubernetes versions in EKS standard support that clusters may run.",
        "default": ["1.34", "1.35"],
    }
}


@resource_rule(
    name="eks-version-allowed",
    description="The cluster runs a Kubernetes version from the allow-list (standard support).",
    severity=Severity.MEDIUM,
    remediation="Set the cluster version to one of the pack's allowedVersions (extended support "
    "costs six times more per hour), or change allowedVersions in the pack config.",
    resource_types=CLUSTER_TYPES,
    config=_VERSIONS,
)
def eks_version_allowed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = [str(v) for v in setting(args, _VERSIONS, "allowedVersions")]
    version = _cluster(args).version
    if version is None:
        report(f"no version pinned (the AWS default changes over time); allowed: {allowed}")
    elif str(version) not in allowed:
        report(f"version {version} is not in {allowed}")


EKS_ADDON = "aws:eks/addon:Addon"


@resource_rule(
    name="eks-network-policy-enforced",
    description="The VPC CNI enforces Kubernetes NetworkPolicies (off by default on EKS).",
    severity=Severity.HIGH,
    remediation="Set vpcCniOptions {enableNetworkPolicy: true} on the pulumi-eks cluster (the "
    'vpc-cni add-on\'s configurationValues {"enableNetworkPolicy": "true"}); without it the '
    "teams' default-deny policies are accepted and ignored.",
    resource_types=(EKS_COMPONENT, EKS_ADDON),
)
def eks_network_policy_enforced(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == EKS_COMPONENT:
        if dig(args.props, "vpcCniOptions", "enableNetworkPolicy") is not True:
            report("vpcCniOptions.enableNetworkPolicy is not true")
        return
    if args.props.get("addonName") != "vpc-cni":
        return
    try:
        values = json.loads(args.props.get("configurationValues") or "{}")
    except ValueError:
        values = {}
    if str(values.get("enableNetworkPolicy", "false")).lower() != "true":
        report("the vpc-cni add-on does not enable network policies")
