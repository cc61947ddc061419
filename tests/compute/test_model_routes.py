"""The load-balanced routes of whatever EKS models each stack declares, read from its export: one
Ingress per route group, a path rule per model version, the ALB settings the controller reads
from the annotations, and the served record a caller resolves."""

from __future__ import annotations

import json
import re

import pytest

from components.registry_route import INVOCATIONS_PATH, model_path
from components.serving.model_routes import ANNOTATION, base_url, ingress_annotations
from components.serving.route_groups import GROUP_CAPACITY, RouteGroup, route_groups
from infra.declarations.routes import RouteSettings
from policies.rules.load_balancing import load_balancer_attributes

pytestmark = pytest.mark.slow

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def _annotations(ingress: dict) -> dict[str, str]:
    return {
        key.removeprefix(ANNOTATION): value
        for key, value in ingress["inputs"]["metadata"]["annotations"].items()
    }


def _paths(ingress: dict) -> list[dict]:
    return [path for rule in ingress["inputs"]["spec"]["rules"] for path in rule["http"]["paths"]]


def _served_records(plan) -> dict[str, dict]:
    records = {}
    for item in plan.of_type("aws:dynamodb/tableItem:TableItem"):
        fields = json.loads(item["inputs"]["item"])
        if fields["version"]["N"] == "0":
            records[fields["model"]["S"]] = fields
    return records


def _rewritten(ingress: dict, service: str, path: str) -> str:
    """The URL the target sees: the rule's url-rewrite transform applied to ``path``."""
    (transform,) = json.loads(_annotations(ingress)[f"transforms.{service}"])
    assert transform["type"] == "url-rewrite"
    (rewrite,) = transform["urlRewriteConfig"]["rewrites"]
    return re.sub(rewrite["regex"], rewrite["replace"], path)


def test_every_eks_model_has_one_path_rule_for_its_version_on_its_teams_load_balancer(plan):
    eks = plan.spec.models_served_by("eks")
    assert eks, f"{plan.stack} declares no EKS model: nothing to route"
    rules = {}
    for ingress in plan.of_type(INGRESS):
        namespace = ingress["inputs"]["metadata"]["namespace"]
        group = RouteGroup.parse(ingress["inputs"]["metadata"]["labels"]["mlplat.io/route-group"])
        assert group.team == namespace
        for path in _paths(ingress):
            service = path["backend"]["service"]["name"]
            assert service not in rules, f"{service} is routed twice"
            rules[service] = (group, path, ingress)
    assert set(rules) == {model.name for model in eks}
    groups = route_groups(plan.spec)
    for model in eks:
        group, path, ingress = rules[model.name]
        assert group == groups[model.name]
        assert group.team == model.team
        assert path["path"] == model_path(model.name, model.version)
        assert path["pathType"] == "Exact"
        assert path["backend"]["service"]["port"] == {"name": "http"}
        # The container serves /invocations only: the rule rewrites the model's path to it.
        assert _rewritten(ingress, model.name, path["path"]) == INVOCATIONS_PATH


def test_no_load_balancer_exceeds_the_rule_and_target_group_quotas(plan):
    for ingress in plan.of_type(INGRESS):
        paths = _paths(ingress)
        target_groups = {
            (p["backend"]["service"]["name"], str(p["backend"]["service"]["port"])) for p in paths
        }
        assert len(paths) <= GROUP_CAPACITY <= 100
        assert len(target_groups) <= GROUP_CAPACITY
        # One Ingress per IngressGroup: each Ingress holds its load balancer's whole settings.
    names = [_annotations(i)["group.name"] for i in plan.of_type(INGRESS)]
    assert len(names) == len(set(names))


def test_load_balancer_settings_follow_the_environment(plan):
    routes = plan.spec.settings.routes
    for ingress in plan.of_type(INGRESS):
        annotations = _annotations(ingress)
        attributes = load_balancer_attributes(ingress["inputs"]["metadata"]["annotations"])
        assert annotations["scheme"] == "internal"
        assert annotations["target-type"] == "ip"
        assert annotations["inbound-cidrs"] == plan.spec.settings.network.cidr
        assert attributes["access_logs.s3.enabled"] == "true"
        assert attributes["deletion_protection.enabled"] == str(plan.spec.is_production).lower()
        if routes.tls:
            assert json.loads(annotations["listen-ports"]) == [{"HTTPS": 443}]
            assert annotations["certificate-arn"] == routes.certificate_arn
            assert annotations["ssl-policy"] == routes.ssl_policy


def test_access_logs_go_to_the_platforms_log_bucket(plan):
    (policy,) = [
        p
        for p in plan.of_type("aws:s3/bucketPolicy:BucketPolicy")
        if "logdelivery.elasticloadbalancing.amazonaws.com" in p["inputs"]["policy"]
    ]
    for ingress in plan.of_type(INGRESS):
        attributes = load_balancer_attributes(ingress["inputs"]["metadata"]["annotations"])
        assert attributes["access_logs.s3.bucket"] == policy["inputs"]["bucket"]
        # ELB refuses a prefix containing AWSLogs; the bucket policy admits <prefix>/AWSLogs/.
        assert "AWSLogs" not in attributes["access_logs.s3.prefix"]


def _pod_spec_of(plan, service: str, namespace: str) -> dict:
    (deployment,) = [
        d for d in plan.kube("Deployment", namespace) if d["inputs"]["metadata"]["name"] == service
    ]
    return deployment["inputs"]["spec"]["template"]["spec"]


def test_health_checks_and_draining_match_each_backends_pods(plan):
    for ingress in plan.of_type(INGRESS):
        annotations = _annotations(ingress)
        delay = int(annotations["target-group-attributes"].split("=")[1])
        namespace = ingress["inputs"]["metadata"]["namespace"]
        for path in _paths(ingress):
            pod = _pod_spec_of(plan, path["backend"]["service"]["name"], namespace)
            (server,) = [c for c in pod["containers"] if c["name"] == "model"]
            assert annotations["healthcheck-path"] == server["readinessProbe"]["httpGet"]["path"]
            pre_stop = server["lifecycle"]["preStop"]["sleep"]["seconds"]
            # The ALB has let go of the pod (preStop, then the delay) before Kubernetes kills it.
            assert pre_stop + delay == pod["terminationGracePeriodSeconds"]
            assert 0 < pre_stop < pod["terminationGracePeriodSeconds"]


def test_the_served_record_of_an_eks_model_is_its_load_balancer_url_and_path(plan):
    routes = plan.spec.settings.routes
    records = _served_records(plan)
    cnames = {r["inputs"]["name"]: r for r in plan.of_type("aws:route53/record:Record")}
    hostnames = {
        _annotations(i)["group.name"]: i["outputs"]["status"]["loadBalancer"]["ingress"][0][
            "hostname"
        ]
        for i in plan.of_type(INGRESS)
    }
    groups = route_groups(plan.spec)
    for model in plan.spec.models_served_by("eks"):
        record = records[model.name]
        url = record["loadBalancerUrl"]["S"]
        group = groups[model.name]
        hostname = hostnames[group.ingress_group(plan.spec.name.value)]
        assert url == base_url(routes, group, hostname) + model_path(model.name, model.version)
        assert record["servedVersion"]["N"] == str(model.version)
        if routes.tls:
            host = url.removeprefix("https://").split("/", 1)[0]
            assert cnames[host]["inputs"]["records"] == [hostname]
            assert cnames[host]["inputs"]["zoneId"] == routes.private_zone_id
            assert cnames[host]["inputs"]["type"] == "CNAME"


# --- without a certificate (allowed outside prod): HTTP, and the load balancer's own name --------


def test_without_a_certificate_the_listener_is_http_and_callers_use_the_alb_name():
    plain = RouteSettings()
    group = RouteGroup("growth", 0)
    annotations = ingress_annotations(
        group,
        [],
        environment="dev",
        routes=plain,
        vpc_cidr="10.0.0.0/16",
        access_logs_bucket="logs",
        production=False,
    )
    assert json.loads(annotations[ANNOTATION + "listen-ports"]) == [{"HTTP": 80}]
    assert ANNOTATION + "certificate-arn" not in annotations
    assert base_url(plain, group, "internal-k8s-x.elb.amazonaws.com") == (
        "http://internal-k8s-x.elb.amazonaws.com"
    )
    tls = RouteSettings(
        certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/0000-1111",
        domain="models.example.internal",
        private_zone_id="Z123",
    )
    assert base_url(tls, group, "internal-k8s-x.elb.amazonaws.com") == (
        "https://growth-0.models.example.internal"
    )


def test_every_annotation_is_one_the_pinned_controller_reads(plan):
    from components.alb_controller import HERE

    documented = json.loads((HERE / "ingress_annotations.json").read_text())["annotations"]
    known = [
        re.compile("^" + re.sub(r"\\\$\\\{[^}]*\\\}", "[^/]+", re.escape(n)) + "$")
        for n in documented
    ]
    for ingress in plan.of_type(INGRESS):
        for key, value in ingress["inputs"]["metadata"]["annotations"].items():
            assert any(k.match(key) for k in known), f"{key}: not a v3.5.0 annotation"
            assert isinstance(value, str)
        annotations = _annotations(ingress)
        # The value formats the controller parses: json, stringMap (k=v,...), stringList.
        assert isinstance(json.loads(annotations["listen-ports"]), list)
        for name in ("load-balancer-attributes", "target-group-attributes", "tags"):
            assert all("=" in pair for pair in annotations[name].split(","))
        for name in (k for k in annotations if k.startswith("transforms.")):
            assert isinstance(json.loads(annotations[name]), list)
