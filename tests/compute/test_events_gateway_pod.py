"""The events gateway in the pods of EKS models that publish events, as the stacks declare them:
it owns the Service's port (the Ingress, the ALB health check and readiness go through it), the
model server keeps its own port and liveness, the gateway is restricted like the other containers
and stops within the pod's grace; models that do not publish, or environments without Kafka,
have no gateway. Properties of whatever is declared, in the single stacks and in the layers."""

from __future__ import annotations

import re

import pytest

from components.serving.events_gateway import CONTAINER, FLUSH_SECONDS
from infra.loader import load_environment, read_stack_config
from lifecycle.events.gateway import METRICS_PORT_NAME
from lifecycle.monitoring.scrape_config import serving_job
from tests.layers.conftest import layer_exports  # noqa: F401  (a fixture)
from tests.layers.conftest import resources as layer_resources

STACKS = ("dev", "staging", "prod")


def _deployments(export: dict) -> dict[str, dict]:
    return {
        r["inputs"]["metadata"]["name"]: r["inputs"]
        for r in export["deployment"]["resources"]
        if r["type"] == "kubernetes:apps/v1:Deployment"
    }


def _services(export: dict) -> dict[str, dict]:
    return {
        r["inputs"]["metadata"]["name"]: r["inputs"]
        for r in export["deployment"]["resources"]
        if r["type"] == "kubernetes:core/v1:Service"
    }


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def _ports(pod: dict) -> dict[str, tuple[str, int]]:
    """Port name -> (container, port): a name must be unique in the pod."""
    named = [
        (p["name"], c["name"], p["containerPort"]) for c in pod["containers"] for p in c["ports"]
    ]
    assert len({n for n, _, _ in named}) == len(named), named
    return {name: (container, port) for name, container, port in named}


@pytest.mark.parametrize("stack", STACKS)
def test_a_publishing_model_is_served_through_its_gateway_and_no_other_model_is(
    stack, stack_export
):
    spec = load_environment(stack, read_stack_config(stack))
    export = stack_export(stack)
    deployments, services = _deployments(export), _services(export)
    publishing = 0
    for model in spec.models_served_by("eks"):
        template = deployments[model.name]["spec"]["template"]
        pod = template["spec"]
        containers = {c["name"]: c for c in pod["containers"]}
        ports = _ports(pod)
        (service_port,) = services[model.name]["spec"]["ports"]
        target_container, target_port = ports[service_port["targetPort"]]
        server = containers["model"]
        if not (model.events and spec.settings.streaming.enabled):
            assert CONTAINER not in containers and target_container == "model"
            continue
        publishing += 1
        gateway = containers[CONTAINER]
        env = _env(gateway)
        assert target_container == CONTAINER  # the Service (and its Ingress) reach the gateway
        assert int(env["MLPLAT_GATEWAY_PORT"]) == target_port
        # ... which forwards to the model server's own port, where its liveness probe stays.
        model_port_name = server["livenessProbe"]["httpGet"]["port"]
        assert ports[model_port_name] == ("model", int(env["MLPLAT_MODEL_PORT"]))
        assert server["readinessProbe"]["httpGet"]["port"] == model_port_name
        assert gateway["readinessProbe"]["httpGet"] == {
            "path": server["readinessProbe"]["httpGet"]["path"],
            "port": service_port["targetPort"],
        }
        live = gateway["livenessProbe"]["httpGet"]["port"]
        assert ports[live] == (CONTAINER, int(env["MLPLAT_GATEWAY_METRICS_PORT"]))
        # What it publishes as is the model and version the pod serves.
        labels = template["metadata"]["labels"]
        assert (env["MLPLAT_MODEL"], env["MLPLAT_MODEL_VERSION"]) == (
            labels["mlplat.io/model"],
            labels["app.kubernetes.io/version"],
        )
        assert env["AWS_REGION"] == spec.settings.region
        brokers = env["MLPLAT_KAFKA_BOOTSTRAP"].split(",")
        assert brokers and all(
            re.fullmatch(r"b-\d+\.[^,]+\.amazonaws\.com:9098", b) for b in brokers
        )
        assert gateway["image"] == spec.settings.streaming.gateway_image
        # Restricted like the server; requests what it needs, no CPU limit to throttle requests.
        assert gateway["securityContext"] == server["securityContext"]
        assert {"cpu", "memory"} <= set(gateway["resources"]["requests"])
        assert set(gateway["resources"]["limits"]) == {"memory"}
        # It outlives the load balancer's deregistration like the server, then flushes in time.
        assert gateway["lifecycle"] == server["lifecycle"]
        pre_stop = gateway["lifecycle"]["preStop"]["sleep"]["seconds"]
        flush = float(env["MLPLAT_EVENTS_FLUSH_SECONDS"])
        assert flush == FLUSH_SECONDS and pre_stop + flush < pod["terminationGracePeriodSeconds"]
    assert publishing == sum(
        1 for m in spec.models_served_by("eks") if m.events and spec.settings.streaming.enabled
    )


def test_staging_has_a_publishing_model_and_dev_none():
    staging = load_environment("staging", read_stack_config("staging"))
    dev = load_environment("dev", read_stack_config("dev"))
    assert any(m.events for m in staging.models_served_by("eks"))
    assert staging.settings.streaming.enabled and not dev.settings.streaming.enabled


def test_a_teams_serving_stack_gets_the_brokers_through_the_contract(layer_exports):  # noqa: F811
    layers = layer_exports("staging")
    found = 0
    for stack, document in layers.items():
        for resource in layer_resources(document):
            if resource["type"] != "kubernetes:apps/v1:Deployment":
                continue
            for container in resource["inputs"]["spec"]["template"]["spec"]["containers"]:
                if container["name"] == CONTAINER:
                    found += 1
                    assert ".serving." in stack
                    brokers = _env(container)["MLPLAT_KAFKA_BOOTSTRAP"]
                    assert re.fullmatch(r"(b-\d+\.[^,]+:9098,?)+", brokers), brokers
    assert found


def test_the_scraper_keeps_the_gateways_counters():
    (keep,) = [r for r in serving_job()["relabel_configs"] if r.get("action") == "keep"]
    assert re.fullmatch(keep["regex"], METRICS_PORT_NAME)  # Prometheus anchors the regex
    assert re.fullmatch(keep["regex"], "metrics")


def test_a_platform_without_brokers_in_its_contract_is_refused_by_name():
    from infra.contract import ContractError, PlatformContract, StreamingContract
    from infra.serving import _bootstrap_brokers

    arn = "arn:aws:kafka:us-east-1:123456789012:cluster/c/u"
    old = PlatformContract.model_construct(
        streaming=StreamingContract.model_construct(cluster_arn=arn, topics={})
    )
    with pytest.raises(ContractError, match=r"streaming\.bootstrapBrokers"):
        _bootstrap_brokers(old)
    new = PlatformContract.model_construct(
        streaming=StreamingContract(cluster_arn=arn, topics={}, bootstrap_brokers="b-1.x:9098")
    )
    assert _bootstrap_brokers(new) == "b-1.x:9098"


@pytest.mark.parametrize("stack", STACKS)
def test_the_gateways_may_reach_the_brokers_through_the_namespaces_network_policy(
    stack, stack_export
):
    """Team namespaces deny egress but for what is allowed: with Kafka, the brokers' port."""
    from components.streaming import IAM_TLS_PORT

    spec = load_environment(stack, read_stack_config(stack))
    export = stack_export(stack)
    for team in spec.teams:
        allowed = {
            port["port"]
            for r in export["deployment"]["resources"]
            if r["type"] == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
            and r["inputs"]["metadata"]["namespace"] == team.name
            for rule in r["inputs"]["spec"].get("egress", [])
            if "to" not in rule  # to anywhere (the brokers' security group admits the VPC)
            for port in rule.get("ports", [])
        }
        assert (IAM_TLS_PORT in allowed) is spec.settings.streaming.enabled, (team.name, allowed)
