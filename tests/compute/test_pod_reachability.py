"""Who can reach a model's pods, as the namespace's NetworkPolicies say (evaluated here the way
Kubernetes defines them: a pod selected by any Ingress policy admits only what one of their rules
allows). The routes' load balancers (target type ``ip``) and AMP's managed scraper reach pods from
their addresses in the VPC; without an allowance, default-deny drops them, and nothing served on
EKS is reachable or scraped."""

from __future__ import annotations

import ipaddress
import re

import pytest

from components.eks_model import PORT as SERVER_PORT
from components.serving.events_gateway import POD_LABEL
from components.tenancy import namespace_network_policies, serving_ingress
from lifecycle.events.gateway import LISTEN_PORT
from lifecycle.events.gateway import METRICS_PORT as GATEWAY_METRICS_PORT
from lifecycle.monitoring import scrape_config

pytestmark = pytest.mark.slow

OUTSIDE = "192.0.2.10"  # TEST-NET-1: in no VPC the stacks declare


def _selects(selector: dict, labels: dict) -> bool:
    wanted = selector.get("matchLabels") or {}
    if any(labels.get(k) != v for k, v in wanted.items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _port_matches(rule_port: dict, port: int, protocol: str, named: dict[str, int]) -> bool:
    if rule_port.get("protocol", "TCP") != protocol:
        return False
    wanted = rule_port.get("port")
    if wanted is None:
        return True
    number = named.get(wanted) if isinstance(wanted, str) else wanted
    return number == port


def admitted(policies: list[dict], pod: dict, source_ip: str, port: int, protocol="TCP") -> bool:
    """May ``source_ip`` (not a pod of the namespace) open ``port`` on ``pod``?"""
    labels = pod["metadata"].get("labels") or {}
    named = {
        p["name"]: p["containerPort"]
        for c in pod["spec"]["containers"]
        for p in c.get("ports") or []
        if "name" in p
    }
    selecting = [
        p["spec"]
        for p in policies
        if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
        and _selects(p["spec"]["podSelector"], labels)
    ]
    if not selecting:
        return True
    rules = [rule for spec in selecting for rule in spec.get("ingress") or []]
    return _a_rule_admits(rules, "from", source_ip, port, protocol, named)


def _a_rule_admits(
    rules: list[dict], peers_key: str, ip: str, port: int, protocol: str, named: dict[str, int]
) -> bool:
    """Does one of ``rules`` (ingress ``from`` or egress ``to``) admit ``ip`` on ``port``? Only
    ``ipBlock`` peers can name an address outside the namespace."""
    address = ipaddress.ip_address(ip)
    for rule in rules:
        peers = rule.get(peers_key)
        peer_ok = peers is None or any(
            "ipBlock" in peer
            and address in ipaddress.ip_network(peer["ipBlock"]["cidr"])
            and not any(
                address in ipaddress.ip_network(c) for c in peer["ipBlock"].get("except", [])
            )
            for peer in peers
        )
        ports = rule.get("ports")
        port_ok = ports is None or any(_port_matches(p, port, protocol, named) for p in ports)
        if peer_ok and port_ok:
            return True
    return False


def _model_pods(plan):
    for deployment in plan.kube("Deployment"):
        namespace = deployment["inputs"]["metadata"]["namespace"]
        if namespace in {team.name for team in plan.spec.teams}:
            yield namespace, deployment["inputs"]["spec"]["template"]


def _policies(plan, namespace: str) -> list[dict]:
    """The NetworkPolicies the stack renders in ``namespace``."""
    return [p["inputs"] for p in plan.kube("NetworkPolicy", namespace)]


def _inside_vpc(plan) -> str:
    network = ipaddress.ip_network(plan.spec.settings.network.cidr)
    return str(network.network_address + 10)


def _service_target(plan, namespace: str, pod: dict) -> int:
    labels = pod["metadata"]["labels"]
    (service,) = [
        s["inputs"]
        for s in plan.kube("Service", namespace)
        if _selects({"matchLabels": s["inputs"]["spec"]["selector"]}, labels)
    ]
    target = service["spec"]["ports"][0]["targetPort"]
    if isinstance(target, int):
        return target
    (port,) = [
        p["containerPort"]
        for c in pod["spec"]["containers"]
        for p in c.get("ports") or []
        if p.get("name") == target
    ]
    return port


def _scraped_ports(pod: dict) -> list[int]:
    (keep,) = [
        r["regex"]
        for r in scrape_config.serving_job()["relabel_configs"]
        if r.get("action") == "keep"
    ]
    return [
        p["containerPort"]
        for c in pod["spec"]["containers"]
        for p in c.get("ports") or []
        if re.fullmatch(keep, p.get("name", ""))
    ]


def test_the_load_balancer_reaches_every_eks_models_serving_port_from_the_vpc(plan):
    pods = list(_model_pods(plan))
    if not pods:
        pytest.skip(f"{plan.stack} serves no model on EKS")
    for namespace, pod in pods:
        policies = _policies(plan, namespace)
        port = _service_target(plan, namespace, pod)
        assert admitted(policies, pod, _inside_vpc(plan), port), (namespace, port)
        assert not admitted(policies, pod, OUTSIDE, port), (namespace, port)


def test_the_scraper_reaches_every_metrics_port_it_keeps_from_the_vpc(plan):
    pods = list(_model_pods(plan))
    if not pods:
        pytest.skip(f"{plan.stack} serves no model on EKS")
    for namespace, pod in pods:
        policies = _policies(plan, namespace)
        ports = _scraped_ports(pod)
        assert ports, namespace
        for port in ports:
            assert admitted(policies, pod, _inside_vpc(plan), port), (namespace, port)
            assert not admitted(policies, pod, OUTSIDE, port), (namespace, port)


def test_nothing_else_on_a_model_pod_is_open_to_the_vpc(plan):
    """Of every port a model pod's containers declare, only the Service's target and the ports
    the scraper keeps are open to the VPC: on a pod with the events gateway the model server's
    own port is closed, so no caller in the VPC can skip the events."""
    for namespace, pod in _model_pods(plan):
        policies = _policies(plan, namespace)
        needed = {_service_target(plan, namespace, pod), *_scraped_ports(pod)}
        for container in pod["spec"]["containers"]:
            for port in container.get("ports") or []:
                number, protocol = port["containerPort"], port.get("protocol", "TCP")
                opened = admitted(policies, pod, _inside_vpc(plan), number, protocol=protocol)
                wanted = number in needed and protocol == "TCP"
                assert opened is wanted, (namespace, container["name"], number, protocol)
        # The statsD listener (UDP, loopback use only) and any unlisted port stay closed.
        assert not admitted(policies, pod, _inside_vpc(plan), 9125, protocol="UDP")
        assert not admitted(policies, pod, _inside_vpc(plan), 22)


def test_the_model_server_behind_an_events_gateway_is_closed_to_the_vpc(plan):
    """Where a stack runs gateways (Kafka on and a model declaring events), the server's port
    of those pods is closed to the VPC and the gateway's open; a pod without one is served on
    the server's port (and the gateway's ports are open on it too, where nothing listens)."""
    pods = list(_model_pods(plan))
    gateways = [
        (n, p) for n, p in pods if any(c["name"] == "events" for c in p["spec"]["containers"])
    ]
    if plan.spec.settings.streaming.enabled and any(
        m.events for m in plan.spec.models if m.serving == "eks"
    ):
        assert gateways, plan.stack
    for namespace, pod in pods:
        policies = _policies(plan, namespace)
        behind = (namespace, pod) in gateways
        assert admitted(policies, pod, _inside_vpc(plan), SERVER_PORT) is not behind, namespace
        if behind:
            assert admitted(policies, pod, _inside_vpc(plan), LISTEN_PORT), namespace


def egress_admitted(policies: list[dict], destination_ip: str, port: int) -> bool:
    """May any pod of the namespace open ``port`` at ``destination_ip``, an address that is no
    pod of this namespace (a pod selector names only the namespace's own pods)?"""
    selecting = [p["spec"] for p in policies if "Egress" in p["spec"].get("policyTypes", [])]
    if not selecting:
        return True
    rules = [rule for spec in selecting for rule in spec.get("egress") or []]
    return _a_rule_admits(rules, "to", destination_ip, port, "TCP", {})


def test_no_team_pod_reaches_another_teams_model_pods(plan):
    """The VPC is admitted to model pods, and pods have VPC addresses: what keeps one team's pods
    from calling another's models directly (past the load balancer's token check) is every team
    namespace's egress, which opens no port a model pod serves on."""
    pods = list(_model_pods(plan))
    if not pods:
        pytest.skip(f"{plan.stack} serves no model on EKS")
    served = {
        p["containerPort"]
        for _, pod in pods
        for c in pod["spec"]["containers"]
        for p in c.get("ports") or []
        if p.get("protocol", "TCP") == "TCP"
    }
    target = _inside_vpc(plan)
    namespaces = {ns["inputs"]["metadata"]["name"] for ns in plan.kube("Namespace")}
    sources = [team.name for team in plan.spec.teams] + [
        ns for ns in namespaces if ns.endswith("-batch")
    ]
    for source in sources:
        policies = _policies(plan, source)
        assert policies, source
        for port in served:
            assert not egress_admitted(policies, target, port), (source, port)


def _pod(gateway: bool, labelled: bool) -> dict:
    """A model pod as the program renders its containers' ports: the server, the statsD
    exporter, and the events gateway when it runs one."""
    containers = [
        {"name": "model", "ports": [{"name": "model", "containerPort": SERVER_PORT}]},
        {"name": "metrics", "ports": [{"name": "metrics", "containerPort": 9102}]},
    ]
    if gateway:
        containers.append(
            {
                "name": "events",
                "ports": [
                    {"name": "http", "containerPort": LISTEN_PORT},
                    {"name": "events-metrics", "containerPort": GATEWAY_METRICS_PORT},
                ],
            }
        )
    labels = {"app.kubernetes.io/name": "m", **({POD_LABEL: "true"} if labelled else {})}
    return {"metadata": {"labels": labels}, "spec": {"containers": containers}}


@pytest.mark.parametrize(
    ("gateway", "labelled"),
    [
        (False, False),  # a model without events, wherever Kafka is
        (True, True),  # a model with its gateway
        (True, False),  # a gateway pod from before the label, while the policies change first
    ],
)
def test_a_pods_serving_and_metrics_ports_are_open_to_the_vpc_in_every_state(gateway, labelled):
    """The namespace's policies (the same whether the environment has Kafka or not) admit the
    VPC to the port the pod is served on (the gateway's when it runs one) and to its metrics
    ports; a labelled pod's server port stays closed; nothing is open from outside the VPC."""
    specs = namespace_network_policies() | serving_ingress("10.0.0.0/16")
    policies = [{"spec": spec} for spec in specs.values()]
    pod = _pod(gateway, labelled)
    serving = LISTEN_PORT if gateway else SERVER_PORT
    metrics = [9102, *([GATEWAY_METRICS_PORT] if gateway else [])]
    for port in (serving, *metrics):
        assert admitted(policies, pod, "10.0.5.5", port), port
        assert not admitted(policies, pod, OUTSIDE, port), port
    assert admitted(policies, pod, "10.0.5.5", SERVER_PORT) is not labelled
    assert not admitted(policies, pod, "10.0.5.5", 22)
