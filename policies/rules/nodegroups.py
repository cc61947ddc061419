"""EKS managed node group rules.

Judged on both shapes: pulumi-eks's `eks:index:ManagedNodeGroup` (offline) and the
`aws:eks/nodeGroup:NodeGroup` + `aws:ec2/launchTemplate:LaunchTemplate` it creates (real engine).
Both spell the node group inputs the same way (taints, capacityType, instanceTypes, scalingConfig,
launchTemplate, amiType); EKS spells the taint effect `NO_SCHEDULE`.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.framework import as_list, dig, of_types, resource_rule, setting, stack_rule

MANAGED_NODE_GROUP = "eks:index:ManagedNodeGroup"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NODE_GROUP_TYPES = (MANAGED_NODE_GROUP, NODE_GROUP)
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"

GPU_TAINT_KEY = "nvidia.com/gpu"
# EC2 accelerated-computing families with NVIDIA GPUs (g4dn, g5, g6, g6e, p3, p4d, p5, ...).
_GPU_FAMILY = re.compile(r"^(g\d|p\d)[a-z]*\.")


def is_gpu_node_group(props: Any) -> bool:
    ami_type = str(props.get("amiType") or "")
    return (
        bool(props.get("gpu"))
        or "NVIDIA" in ami_type
        or "GPU" in ami_type
        or any(_GPU_FAMILY.match(str(t)) for t in as_list(props.get("instanceTypes")))
    )


@resource_rule(
    name="nodegroup-gpu-taint",
    description="GPU node groups carry the nvidia.com/gpu NO_SCHEDULE taint, so only GPU "
    "workloads (which tolerate it) land on GPU nodes.",
    severity=Severity.MEDIUM,
    remediation='Add taints=[{key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE"}].',
    resource_types=NODE_GROUP_TYPES,
)
def nodegroup_gpu_taint(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_gpu_node_group(args.props):
        return
    tainted = any(
        dig(t, "key") == GPU_TAINT_KEY and dig(t, "effect") == "NO_SCHEDULE"
        for t in as_list(args.props.get("taints"))
    )
    if not tainted:
        report(f"GPU node group without the {GPU_TAINT_KEY}:NO_SCHEDULE taint")


_SPOT = {
    "minInstanceTypes": {
        "type": "integer",
        "minimum": 1,
        "description": "Interchangeable instance types a spot node group must offer.",
        "default": 3,
    }
}


@resource_rule(
    name="nodegroup-spot-diversity",
    description="Spot node groups offer several interchangeable instance types, so one "
    "reclaimed capacity pool does not empty the group.",
    severity=Severity.MEDIUM,
    remediation="List at least minInstanceTypes instance types of the same size class "
    "in instanceTypes of the SPOT node group.",
    resource_types=NODE_GROUP_TYPES,
    config=_SPOT,
)
def nodegroup_spot_diversity(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if str(args.props.get("capacityType") or "ON_DEMAND") != "SPOT":
        return
    minimum = int(setting(args, _SPOT, "minInstanceTypes"))
    types = sorted(set(map(str, as_list(args.props.get("instanceTypes")))))
    if len(types) < minimum:
        report(f"spot node group has {len(types)} instance type(s) {types}; needs {minimum}")


_SIZE = {
    "maxSize": {
        "type": "integer",
        "minimum": 1,
        "description": "Largest maxSize a CPU node group may scale to.",
        "default": 20,
    },
    "maxGpuSize": {
        "type": "integer",
        "minimum": 1,
        "description": "Largest maxSize a GPU node group may scale to.",
        "default": 8,
    },
}


@resource_rule(
    name="nodegroup-size-cap",
    description="Node groups have consistent scaling bounds under the configured caps.",
    severity=Severity.MEDIUM,
    remediation="Lower scalingConfig.maxSize to the cap (or raise maxSize/maxGpuSize in the pack "
    "config after a capacity review); keep minSize <= desiredSize <= maxSize.",
    resource_types=NODE_GROUP_TYPES,
    config=_SIZE,
)
def nodegroup_size_cap(args: ResourceValidationArgs, report: ReportViolation) -> None:
    scaling = args.props.get("scalingConfig") or {}
    low, high = dig(scaling, "minSize"), dig(scaling, "maxSize")
    desired = dig(scaling, "desiredSize")
    if high is None:
        report("scalingConfig.maxSize is not set")
        return
    cap_key = "maxGpuSize" if is_gpu_node_group(args.props) else "maxSize"
    cap = int(setting(args, _SIZE, cap_key))
    if high > cap:
        report(f"scalingConfig.maxSize {high} exceeds the {cap_key} cap {cap}")
    if low is not None and low > high:
        report(f"scalingConfig.minSize {low} > maxSize {high}")
    if desired is not None and not ((low or 0) <= desired <= high):
        report(f"scalingConfig.desiredSize {desired} outside [{low or 0}, {high}]")


def _requires_imdsv2(launch_template: Any) -> bool:
    return dig(launch_template, "metadataOptions", "httpTokens") == "required"


@resource_rule(
    name="launch-template-imdsv2",
    description="Launch templates require IMDSv2 (session tokens) for instance metadata.",
    severity=Severity.HIGH,
    remediation='Set metadataOptions {httpTokens: "required", httpPutResponseHopLimit: 2}.',
    resource_types=(LAUNCH_TEMPLATE,),
)
def launch_template_imdsv2(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _requires_imdsv2(args.props):
        tokens = dig(args.props, "metadataOptions", "httpTokens", default="optional")
        report(f"metadataOptions.httpTokens is {tokens}")


def _launch_template_of(
    group: PolicyResource, templates: list[PolicyResource]
) -> PolicyResource | None:
    ref = group.props.get("launchTemplate")
    if not ref:
        return None
    for template in templates:
        if any(
            dep.urn == template.urn for dep in group.property_dependencies.get("launchTemplate", [])
        ):
            return template
        if ref.get("name") and ref.get("name") == template.props.get("name"):
            return template
        if ref.get("id") and ref.get("id") == template.props.get("id"):
            return template
    return None


@stack_rule(
    name="nodegroup-imdsv2",
    description="Every node group launches its nodes with IMDSv2 required, so pods cannot "
    "steal the node role's credentials through IMDSv1.",
    severity=Severity.HIGH,
    remediation="Give the node group a launch template with metadataOptions.httpTokens="
    '"required" (or enableIMDSv2=true on a pulumi-eks ManagedNodeGroup).',
)
def nodegroup_imdsv2(args: StackValidationArgs, report: ReportViolation) -> None:
    templates = of_types(args.resources, LAUNCH_TEMPLATE)
    for group in of_types(args.resources, *NODE_GROUP_TYPES):
        if group.resource_type == MANAGED_NODE_GROUP and group.props.get("enableIMDSv2"):
            continue
        if not group.props.get("launchTemplate"):
            report("no launch template: EKS's default one leaves IMDSv1 on", group.urn)
            continue
        template = _launch_template_of(group, templates)
        if template is None:
            report(
                "its launch template is not part of this stack, IMDSv2 cannot be verified",
                group.urn,
            )
        elif not _requires_imdsv2(template.props):
            report(f"its launch template {template.name} does not require IMDSv2", group.urn)
