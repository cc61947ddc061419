"""Kubernetes rules: team namespaces are quota-bound, containers are sized and unprivileged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from policies.framework import as_list, dig, of_types, resource_rule, setting, stack_rule

NAMESPACE = "kubernetes:core/v1:Namespace"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
# Workload kinds and where their pod spec lives.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
DANGEROUS_CAPABILITIES = frozenset({"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE"})


def _pod_spec(args: ResourceValidationArgs) -> Any:
    return dig(args.props, *POD_SPEC_PATHS[args.resource_type], default={})


def _containers(pod_spec: Any, *, with_init: bool) -> Iterator[Any]:
    yield from as_list(dig(pod_spec, "containers"))
    if with_init:
        yield from as_list(dig(pod_spec, "initContainers"))


@resource_rule(
    name="k8s-container-resources",
    description="Every container requests CPU and memory and has a memory limit, so the "
    "scheduler can place it and one container cannot starve a node.",
    severity=Severity.MEDIUM,
    remediation="Set resources.requests {cpu, memory} and resources.limits {memory} (a CPU "
    "limit is optional) on every container.",
    resource_types=tuple(POD_SPEC_PATHS),
)
def k8s_container_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in _containers(_pod_spec(args), with_init=False):
        requests = dig(container, "resources", "requests", default={})
        limits = dig(container, "resources", "limits", default={})
        missing = [f"requests.{k}" for k in ("cpu", "memory") if k not in requests]
        missing += [f"limits.{k}" for k in ("memory",) if k not in limits]
        if missing:
            report(f"container {dig(container, 'name')} lacks {', '.join(missing)}")


@resource_rule(
    name="k8s-no-privileged-containers",
    description="No container is privileged, may escalate privileges, adds dangerous "
    "capabilities, or shares the host's network/PID/IPC namespaces.",
    severity=Severity.HIGH,
    remediation="Remove privileged/allowPrivilegeEscalation (set it false), drop added "
    "capabilities, and remove hostNetwork/hostPID/hostIPC.",
    resource_types=tuple(POD_SPEC_PATHS),
)
def k8s_no_privileged_containers(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pod_spec = _pod_spec(args)
    for field in HOST_NAMESPACES:
        if dig(pod_spec, field) is True:
            report(f"pod sets {field}")
    for container in _containers(pod_spec, with_init=True):
        name = dig(container, "name")
        context = dig(container, "securityContext", default={})
        if dig(context, "privileged") is True:
            report(f"container {name} is privileged")
        if dig(context, "allowPrivilegeEscalation") is True:
            report(f"container {name} allows privilege escalation")
        added = DANGEROUS_CAPABILITIES.intersection(
            map(str, as_list(dig(context, "capabilities", "add")))
        )
        if added:
            report(f"container {name} adds capabilities {sorted(added)}")


_TEAMS = {
    "teamLabels": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Namespace label keys that mark a namespace as a team's.",
        "default": ["mlplat.io/team"],
    }
}
QUOTA_CPU_KEYS = ("cpu", "requests.cpu", "limits.cpu")
QUOTA_MEMORY_KEYS = ("memory", "requests.memory", "limits.memory")


@stack_rule(
    name="k8s-team-namespace-quota",
    description="Every team namespace has a ResourceQuota bounding its CPU and memory.",
    severity=Severity.MEDIUM,
    remediation="Create a ResourceQuota in the team namespace with hard cpu, memory, "
    "requests.nvidia.com/gpu and pods limits (the tenancy component does this per team).",
    config=_TEAMS,
)
def k8s_team_namespace_quota(args: StackValidationArgs, report: ReportViolation) -> None:
    team_labels = setting(args, _TEAMS, "teamLabels")
    quotas = of_types(args.resources, RESOURCE_QUOTA)
    for namespace in of_types(args.resources, NAMESPACE):
        labels = dig(namespace.props, "metadata", "labels", default={})
        if not any(key in labels for key in team_labels):
            continue
        name = dig(namespace.props, "metadata", "name")
        hard = {}
        for quota in quotas:
            if dig(quota.props, "metadata", "namespace") == name:
                hard.update(dig(quota.props, "spec", "hard", default={}))
        if not hard:
            report(f"team namespace {name} has no ResourceQuota", namespace.urn)
            continue
        for what, keys in (("cpu", QUOTA_CPU_KEYS), ("memory", QUOTA_MEMORY_KEYS)):
            if not any(k in hard for k in keys):
                report(f"the quota of team namespace {name} does not bound {what}", namespace.urn)
