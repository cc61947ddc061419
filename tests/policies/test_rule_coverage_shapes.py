"""Each rule on every shape it claims: every workload kind and container list, every NVIDIA GPU
instance family, both node group types, and both sides of each size cap."""

from __future__ import annotations

import copy

import pytest
from policy_cases import changed, deployment, export, launch_template, node_group, resource

from mlplat.policy_check import check
from policies.registry import policy_named

COMPONENT_NG, AWS_NG = "eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup"

# Where each workload kind keeps its pod spec (Kubernetes API reference: PodTemplateSpec under
# spec.template; a CronJob's under spec.jobTemplate.spec.template). Written out apart from the
# rule's own table on purpose: a wrong or missing path there must fail here.
POD_SPEC_AT = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# Containers and init containers run the pod's code. Ephemeral containers cannot be declared:
# "This list cannot be specified when creating a pod" (PodSpec.ephemeralContainers, Kubernetes
# API reference), so no declared workload carries them.
CONTAINER_LISTS = ("containers", "initContainers")


def _violations(rule: str, *entries, config=None) -> list[str]:
    found = check(export(*entries), policies=[policy_named(rule)], config=config)
    return [violation.message for violation in found if violation.policy == rule]


def _workload(kind: str, container_list: str, security_context: dict) -> dict:
    """A compliant workload of ``kind`` whose ``container_list`` holds one container with
    ``security_context`` (next to the compliant main container)."""
    server = deployment()["inputs"]["spec"]["template"]["spec"]["containers"][0]
    odd = {**copy.deepcopy(server), "name": "odd", "securityContext": security_context}
    pod_spec = {"containers": [server]}
    pod_spec[container_list] = [*pod_spec.get(container_list, []), odd]
    inputs: dict = {"metadata": {"name": "w", "namespace": "team-a"}}
    node = inputs
    *parents, last = POD_SPEC_AT[kind]
    for step in parents:
        node = node.setdefault(step, {})
    node[last] = pod_spec
    return resource(kind, "w", inputs)


DANGERS = [
    ({"privileged": True}, "is privileged"),
    ({"allowPrivilegeEscalation": True}, "allows privilege escalation"),
    ({"capabilities": {"add": ["SYS_ADMIN"]}}, "adds capabilities"),
]


@pytest.mark.parametrize("kind", POD_SPEC_AT)
@pytest.mark.parametrize("container_list", CONTAINER_LISTS)
@pytest.mark.parametrize(("context", "words"), DANGERS)
def test_privilege_is_refused_in_every_container_of_every_workload(
    kind, container_list, context, words
):
    rule = "k8s-no-privileged-containers"
    safe = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert _violations(rule, _workload(kind, container_list, safe)) == []
    messages = _violations(rule, _workload(kind, container_list, context))
    assert any(f"container odd {words}" in message for message in messages), messages


GPU_TYPES = [
    "g4dn.xlarge",
    "g5.xlarge",
    "g5g.xlarge",
    "g6.xlarge",
    "g6e.xlarge",
    "p3.2xlarge",
    "p4d.24xlarge",
    "p5.48xlarge",
]
CPU_TYPES = ["m6i.xlarge", "c5.xlarge", "r6i.xlarge", "t3.medium", "inf2.xlarge", "trn1.2xlarge"]
STANDARD_AMI = "AL2023_x86_64_STANDARD"  # says nothing about GPUs: the instance type must


def _group(type_: str, instance: str, max_size: int = 2, taints=()) -> dict:
    return node_group(
        type_,
        amiType=STANDARD_AMI,
        instanceTypes=[instance],
        scalingConfig={"minSize": 0, "maxSize": max_size, "desiredSize": 0},
        taints=list(taints),
    )


GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}


@pytest.mark.parametrize("group_type", [COMPONENT_NG, AWS_NG])
@pytest.mark.parametrize("instance", GPU_TYPES)
def test_every_gpu_family_needs_the_gpu_taint(group_type, instance):
    rule = "nodegroup-gpu-taint"
    assert _violations(rule, _group(group_type, instance))
    assert _violations(rule, _group(group_type, instance, taints=[GPU_TAINT])) == []


@pytest.mark.parametrize("group_type", [COMPONENT_NG, AWS_NG])
@pytest.mark.parametrize("instance", CPU_TYPES)
def test_cpu_families_need_no_gpu_taint(group_type, instance):
    assert _violations("nodegroup-gpu-taint", _group(group_type, instance)) == []


CAPS = {"maxSize": 12, "maxGpuSize": 5}  # not the defaults, so the configured cap is what counts


@pytest.mark.parametrize("group_type", [COMPONENT_NG, AWS_NG])
@pytest.mark.parametrize(
    ("instance", "cap"),
    [*((t, CAPS["maxGpuSize"]) for t in GPU_TYPES), *((t, CAPS["maxSize"]) for t in CPU_TYPES)],
)
def test_a_node_group_may_reach_its_cap_but_not_pass_it(group_type, instance, cap):
    rule, config = "nodegroup-size-cap", {"nodegroup-size-cap": CAPS}
    taints = [GPU_TAINT] if instance in GPU_TYPES else []
    at_cap = _group(group_type, instance, max_size=cap, taints=taints)
    assert _violations(rule, at_cap, config=config) == []
    past = _group(group_type, instance, max_size=cap + 1, taints=taints)
    assert _violations(rule, past, config=config) == [
        f"scalingConfig.maxSize {cap + 1} exceeds the "
        f"{'maxGpuSize' if instance in GPU_TYPES else 'maxSize'} cap {cap}"
    ]


@pytest.mark.parametrize(
    ("sizes", "ok"),
    [
        ((0, 4, 0), True),
        ((0, 4, 4), True),
        ((4, 4, 4), True),
        ((5, 4, 4), False),
        ((2, 4, 1), False),
        ((2, 4, 5), False),
    ],
)
def test_node_group_bounds_are_ordered(sizes, ok):
    low, high, desired = sizes
    group = node_group(
        AWS_NG, scalingConfig={"minSize": low, "maxSize": high, "desiredSize": desired}
    )
    assert (_violations("nodegroup-size-cap", group) == []) is ok


def _template(name: str, template_id: str, tokens: str) -> dict:
    template = launch_template(name)
    template = changed(template, "metadataOptions.httpTokens", tokens)
    template["outputs"] |= {"id": template_id, "name": name}
    return template


@pytest.mark.parametrize(
    "reference",
    [{"id": "lt-2", "version": "1"}, {"name": "second", "version": "1"}],
    ids=["by-id", "by-name"],
)
def test_a_node_group_is_judged_by_the_launch_template_it_names(reference):
    """Without a recorded dependency (a template created elsewhere in the program, say) the
    group's launchTemplate id or name finds its template among several."""
    first = _template("first", "lt-1", "required")
    group = node_group(AWS_NG, launchTemplate=reference)
    weak = _template("second", "lt-2", "optional")
    messages = _violations("nodegroup-imdsv2", first, weak, group)
    assert messages == ["its launch template second does not require IMDSv2"]
    strong = _template("second", "lt-2", "required")
    assert _violations("nodegroup-imdsv2", first, strong, group) == []


def test_a_launch_template_from_outside_the_stack_cannot_be_verified():
    group = node_group(AWS_NG, launchTemplate={"id": "lt-elsewhere", "name": "elsewhere"})
    messages = _violations("nodegroup-imdsv2", _template("first", "lt-1", "required"), group)
    assert messages == ["its launch template is not part of this stack, IMDSv2 cannot be verified"]
