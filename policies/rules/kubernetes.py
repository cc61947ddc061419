"""Kubernetes rules: team namespaces are quota-bound, containers are sized and unprivileged."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
    description="Every container and init container requests CPU and memory and has a memory "
    "limit, so the scheduler can place it, a namespace quota admits it, and one container "
    "cannot starve a node.",
    severity=Severity.MEDIUM,
    remediation="Set resources.requests {cpu, memory} and resources.limits {memory} (a CPU "
    "limit is optional) on every container and init container.",
    resource_types=tuple(POD_SPEC_PATHS),
)
def k8s_container_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # Init containers too: a namespace quota on requests.cpu/memory refuses a pod any of whose
    # containers, init containers included, lacks the request (Kubernetes
    # pkg/quota/v1/evaluator/core/pods.go, podEvaluator.Constraints).
    for container in _containers(_pod_spec(args), with_init=True):
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


# Pod Security Standards, "restricted" profile
# (kubernetes.io/docs/concepts/security/pod-security-standards):
# the volume types it allows, and the one capability a container may add.
RESTRICTED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
RESTRICTED_ADDABLE_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
SECCOMP_TYPES = ("RuntimeDefault", "Localhost")


def _effective(pod_spec: Any, container: Any, field: str) -> Any:
    """A securityContext field as the kubelet applies it: the container's, else the pod's."""
    value = dig(container, "securityContext", field)
    return dig(pod_spec, "securityContext", field) if value is None else value


@resource_rule(
    name="k8s-pod-security-restricted",
    description="Pods meet the Pod Security Standards' restricted profile, so a namespace "
    "labelled pod-security.kubernetes.io/enforce=restricted admits them: non-root, no "
    "privilege escalation, all capabilities dropped, a seccomp profile, restricted volume types.",
    severity=Severity.HIGH,
    remediation="Set runAsNonRoot: true and seccompProfile.type: RuntimeDefault (pod or every "
    "container), and on every container allowPrivilegeEscalation: false and capabilities.drop: "
    "[ALL]; use emptyDir/projected/configMap/secret/PVC volumes instead of hostPath.",
    resource_types=tuple(POD_SPEC_PATHS),
)
def k8s_pod_security_restricted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pod_spec = _pod_spec(args)
    for volume in as_list(dig(pod_spec, "volumes")):
        kinds = set(volume) - {"name"} if isinstance(volume, Mapping) else set()
        for kind in sorted(kinds - RESTRICTED_VOLUME_TYPES):
            report(f"volume {dig(volume, 'name')} is of type {kind}")
    for container in _containers(pod_spec, with_init=True):
        name = dig(container, "name")
        if _effective(pod_spec, container, "runAsNonRoot") is not True:
            report(f"container {name} may run as root (runAsNonRoot is not true)")
        if _effective(pod_spec, container, "runAsUser") == 0:
            report(f"container {name} runs as UID 0")
        if dig(container, "securityContext", "allowPrivilegeEscalation") is not False:
            report(f"container {name} does not set allowPrivilegeEscalation: false")
        seccomp = _effective(pod_spec, container, "seccompProfile") or {}
        if dig(seccomp, "type") not in SECCOMP_TYPES:
            report(f"container {name} has no RuntimeDefault or Localhost seccomp profile")
        capabilities = dig(container, "securityContext", "capabilities", default={})
        if "ALL" not in map(str, as_list(dig(capabilities, "drop"))):
            report(f"container {name} does not drop ALL capabilities")
        added = set(map(str, as_list(dig(capabilities, "add")))) - RESTRICTED_ADDABLE_CAPABILITIES
        if added:
            report(f"container {name} adds capabilities {sorted(added)}")
        for port in as_list(dig(container, "ports")):
            if dig(port, "hostPort"):
                report(f"container {name} binds host port {dig(port, 'hostPort')}")


MIN_UID = 10000  # below it, IDs collide with accounts images and nodes define (e.g. 1000)


@resource_rule(
    name="k8s-high-uid",
    description="Containers run with a UID and GID of at least 10000, so a container escape "
    "does not land on an account the node (or the image) already has.",
    severity=Severity.MEDIUM,
    remediation="Set securityContext.runAsUser and runAsGroup to 10000 or more on the pod "
    "(or on every container).",
    resource_types=tuple(POD_SPEC_PATHS),
)
def k8s_high_uid(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pod_spec = _pod_spec(args)
    for container in _containers(pod_spec, with_init=True):
        for field in ("runAsUser", "runAsGroup"):
            value = _effective(pod_spec, container, field)
            if not isinstance(value, int) or value < MIN_UID:
                shown = "unset (the image's)" if value is None else value
                report(f"container {dig(container, 'name')} {field} is {shown}, below {MIN_UID}")


@resource_rule(
    name="k8s-explicit-image-pull-policy",
    description="Every container says when its image is pulled, and an image named by a tag "
    "is pulled Always: a tag can be rebuilt in place (AWS patches its framework images under "
    "the same tag), and a node's cached copy would keep serving the old build.",
    severity=Severity.LOW,
    remediation="Set imagePullPolicy: Always, or pin the image by digest (image@sha256:...) "
    "with IfNotPresent.",
    resource_types=tuple(POD_SPEC_PATHS),
)
def k8s_explicit_image_pull_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in _containers(_pod_spec(args), with_init=True):
        name, policy = dig(container, "name"), dig(container, "imagePullPolicy")
        if policy is None:
            report(f"container {name} has no imagePullPolicy")
        elif policy != "Always" and "@sha256:" not in str(dig(container, "image")):
            report(f"container {name} pulls a tagged image {policy}, not Always")


@resource_rule(
    name="k8s-no-service-account-token",
    description="Pods do not mount a Kubernetes API token they do not use: a compromised "
    "server could otherwise act as its service account. IRSA is unaffected (its web identity "
    "token is the pod identity webhook's own projected volume).",
    severity=Severity.MEDIUM,
    remediation="Set automountServiceAccountToken: false on the pod spec; a workload that calls "
    "the Kubernetes API sets it true and says why in a comment.",
    resource_types=tuple(POD_SPEC_PATHS),
)
def k8s_no_service_account_token(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if dig(_pod_spec(args), "automountServiceAccountToken") is None:
        report(
            "the pod mounts the service account's API token (automountServiceAccountToken unset)"
        )


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
