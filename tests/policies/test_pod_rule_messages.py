"""The pod rules on each shape they claim, with what they say: a setting on the pod or on the
container (the container's wins, as the kubelet applies it), containers and init containers,
and both sides of each boundary. The workload is the compliant Deployment of policy_cases."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from policy_cases import deployment, export, resource

from mlplat.policy_check import check
from policies.registry import policy_named


def messages(rule: str, entry: dict) -> list[str]:
    return [v.message for v in check(export(entry), policies=[policy_named(rule)])]


def _server() -> dict[str, Any]:
    return copy.deepcopy(deployment()["inputs"]["spec"]["template"]["spec"]["containers"][0])


def workload(
    pod: dict[str, Any] | None = None,
    server: dict[str, Any] | None = None,
    init: dict[str, Any] | None = None,
) -> dict:
    """The compliant Deployment, with pod spec keys, the server container's keys and its
    securityContext (``securityContext`` merged, ``None`` deleting a key) changed, and an init
    container (a compliant copy of the server named ``init``, with ``init`` changes) added."""
    entry = deployment()
    for section in ("inputs", "outputs"):
        spec = entry[section]["spec"]["template"]["spec"]
        _merge(spec, copy.deepcopy(pod or {}))
        _merge(spec["containers"][0], copy.deepcopy(server or {}))
        if init is not None:
            added = {**_server(), "name": "init"}
            _merge(added, copy.deepcopy(init))
            spec["initContainers"] = [added]
    return entry


def _merge(node: dict, changes: dict) -> None:
    for key, value in changes.items():
        if value is None:
            node.pop(key, None)
        elif key == "securityContext" and isinstance(node.get(key), dict):
            _merge(node[key], value)
        else:
            node[key] = value


def test_the_compliant_workload_passes_every_pod_rule():
    for rule in RULES:
        assert messages(rule, workload(init={})) == [], rule


RULES = (
    "k8s-container-resources",
    "k8s-no-privileged-containers",
    "k8s-pod-security-restricted",
    "k8s-high-uid",
    "k8s-explicit-image-pull-policy",
    "k8s-no-service-account-token",
)

# --- requests and limits ---------------------------------------------------------------------

REQUESTED = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"server": {"resources": {}}},
            ["container server lacks requests.cpu, requests.memory, limits.memory"],
        ),
        (
            {"server": {"resources": {"requests": {"cpu": "1"}}}},
            ["container server lacks requests.memory, limits.memory"],
        ),
        ({"server": {"resources": REQUESTED}}, []),
        # A namespace quota on requests.cpu/memory refuses a pod any of whose containers, init
        # containers included, lacks the request (Kubernetes pkg/quota/v1/evaluator/core/pods.go,
        # podEvaluator.Constraints), so the pod of a team namespace would never be created.
        (
            {"init": {"resources": None}},
            ["container init lacks requests.cpu, requests.memory, limits.memory"],
        ),
        ({"init": {"resources": REQUESTED}}, []),
    ],
)
def test_every_container_and_init_container_requests_cpu_and_memory(changes, expected):
    assert messages("k8s-container-resources", workload(**changes)) == expected


# --- privilege ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["hostNetwork", "hostPID", "hostIPC"])
def test_a_pod_sharing_a_host_namespace_is_named(field):
    assert messages("k8s-no-privileged-containers", workload(pod={field: True})) == [
        f"pod sets {field}"
    ]
    assert messages("k8s-no-privileged-containers", workload(pod={field: False})) == []


def test_privilege_messages_name_the_container():
    init = {"securityContext": {"privileged": True, "allowPrivilegeEscalation": True}}
    server = {"securityContext": {"capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}}}
    assert messages("k8s-no-privileged-containers", workload(server=server, init=init)) == [
        "container server adds capabilities ['NET_ADMIN']",
        "container init is privileged",
        "container init allows privilege escalation",
    ]


# --- the restricted Pod Security Standard ------------------------------------------------------

RESTRICTED = "k8s-pod-security-restricted"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # runAsNonRoot on the pod is enough; the container's own setting wins over it
        (
            {
                "pod": {"securityContext": {"runAsNonRoot": True}},
                "server": {"securityContext": {"runAsNonRoot": None}},
            },
            [],
        ),
        (
            {"server": {"securityContext": {"runAsNonRoot": None}}},
            ["container server may run as root (runAsNonRoot is not true)"],
        ),
        (
            {
                "pod": {"securityContext": {"runAsNonRoot": True}},
                "server": {"securityContext": {"runAsNonRoot": False}},
            },
            ["container server may run as root (runAsNonRoot is not true)"],
        ),
        # UID 0 on the pod, or on the container over the pod's 10001
        (
            {"pod": {"securityContext": {"runAsUser": 0}}},
            ["container server runs as UID 0"],
        ),
        ({"server": {"securityContext": {"runAsUser": 0}}}, ["container server runs as UID 0"]),
        ({"server": {"securityContext": {"runAsUser": 1}}}, []),
        (
            {"server": {"securityContext": {"allowPrivilegeEscalation": None}}},
            ["container server does not set allowPrivilegeEscalation: false"],
        ),
        # the seccomp profile: the container's, else the pod's; RuntimeDefault or Localhost
        (
            {"server": {"securityContext": {"seccompProfile": {"type": "Unconfined"}}}},
            ["container server has no RuntimeDefault or Localhost seccomp profile"],
        ),
        (
            {
                "pod": {"securityContext": {"seccompProfile": None}},
                "server": {"securityContext": {"seccompProfile": {"type": "Localhost"}}},
            },
            [],
        ),
        (
            {"pod": {"securityContext": {"seccompProfile": None}}},
            ["container server has no RuntimeDefault or Localhost seccomp profile"],
        ),
        # capabilities: ALL dropped, NET_BIND_SERVICE the only one that may be added
        (
            {"server": {"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}},
            ["container server does not drop ALL capabilities"],
        ),
        (
            {
                "server": {
                    "securityContext": {
                        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
                    }
                }
            },
            [],
        ),
        (
            {
                "server": {
                    "securityContext": {
                        "capabilities": {"drop": ["ALL"], "add": ["SYS_TIME", "NET_BIND_SERVICE"]}
                    }
                }
            },
            ["container server adds capabilities ['SYS_TIME']"],
        ),
        # host ports
        (
            {"server": {"ports": [{"containerPort": 8080}, {"containerPort": 9, "hostPort": 9}]}},
            ["container server binds host port 9"],
        ),
        ({"server": {"ports": [{"containerPort": 8080}]}}, []),
        # volumes of the types the profile allows only
        (
            {"pod": {"volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "h", "hostPath": {}}]}},
            ["volume h is of type hostPath"],
        ),
        # every rule of the profile holds for init containers too
        (
            {"init": {"securityContext": {"runAsUser": 0, "allowPrivilegeEscalation": None}}},
            [
                "container init runs as UID 0",
                "container init does not set allowPrivilegeEscalation: false",
            ],
        ),
    ],
)
def test_the_restricted_profile_on_each_setting(changes, expected):
    assert messages(RESTRICTED, workload(**changes)) == expected


# --- high UIDs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"pod": {"securityContext": {"runAsUser": 9999}}},
            ["container server runAsUser is 9999, below 10000"],
        ),
        ({"pod": {"securityContext": {"runAsUser": 10000, "runAsGroup": 10000}}}, []),
        (
            {"pod": {"securityContext": {"runAsGroup": None}}},
            ["container server runAsGroup is unset (the image's), below 10000"],
        ),
        # the container's own UID wins over the pod's
        (
            {"server": {"securityContext": {"runAsUser": 1000}}},
            ["container server runAsUser is 1000, below 10000"],
        ),
        (
            {
                "pod": {"securityContext": {"runAsGroup": 5}},
                "server": {"securityContext": {"runAsGroup": 20000}},
            },
            [],
        ),
        (
            {"init": {"securityContext": {"runAsGroup": 0}}},
            ["container init runAsGroup is 0, below 10000"],
        ),
    ],
)
def test_every_container_runs_with_a_high_uid_and_gid(changes, expected):
    assert messages("k8s-high-uid", workload(**changes)) == expected


# --- image pull policy -------------------------------------------------------------------------

DIGEST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ranker@sha256:" + "0" * 64


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"server": {"imagePullPolicy": None}}, ["container server has no imagePullPolicy"]),
        (
            {"server": {"imagePullPolicy": "IfNotPresent"}},
            ["container server pulls a tagged image IfNotPresent, not Always"],
        ),
        ({"server": {"imagePullPolicy": "IfNotPresent", "image": DIGEST}}, []),
        ({"init": {"imagePullPolicy": None}}, ["container init has no imagePullPolicy"]),
        (
            {"init": {"imagePullPolicy": "Never"}},
            ["container init pulls a tagged image Never, not Always"],
        ),
    ],
)
def test_a_tagged_image_is_pulled_always(changes, expected):
    assert messages("k8s-explicit-image-pull-policy", workload(**changes)) == expected


def test_a_pod_that_does_not_say_whether_it_mounts_its_token_mounts_it():
    rule = "k8s-no-service-account-token"
    assert messages(rule, workload(pod={"automountServiceAccountToken": None})) == [
        "the pod mounts the service account's API token (automountServiceAccountToken unset)"
    ]
    # a workload that calls the API says so
    assert messages(rule, workload(pod={"automountServiceAccountToken": True})) == []


# --- team namespaces and their quotas ----------------------------------------------------------


def _namespace(name: str, team: bool = True) -> dict:
    labels = {"mlplat.io/team": name} if team else {}
    return resource(
        "kubernetes:core/v1:Namespace", name, {"metadata": {"name": name, "labels": labels}}
    )


def _quota(namespace: str, hard: dict | None) -> dict:
    spec = {} if hard is None else {"hard": hard}
    return resource(
        "kubernetes:core/v1:ResourceQuota",
        f"{namespace}-quota",
        {"metadata": {"name": namespace, "namespace": namespace}, "spec": spec},
    )


def test_every_team_namespace_is_named_for_the_quota_it_lacks():
    """Namespaces judged after one that is not a team's, or after one already reported."""
    entries = [
        _namespace("kube-tools", team=False),
        _namespace("a"),
        _namespace("b"),
        _quota("b", None),  # a quota without hard limits bounds nothing
        _namespace("c"),
        _quota("c", {"requests.memory": "1Gi", "pods": "10"}),
        _namespace("d"),
        _quota("d", {"limits.cpu": "4"}),
        _namespace("e"),
        _quota("e", {"cpu": "4", "memory": "8Gi"}),
    ]
    found = check(export(*entries), policies=[policy_named("k8s-team-namespace-quota")])
    assert [(v.urn.rsplit("::", 1)[-1], v.message) for v in found] == [
        ("a", "team namespace a has no ResourceQuota"),
        ("b", "team namespace b has no ResourceQuota"),
        ("c", "the quota of team namespace c does not bound cpu"),
        ("d", "the quota of team namespace d does not bound memory"),
    ]
