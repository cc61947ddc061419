"""The load balancer rules: the Ingress the platform generates passes them; one setting changed
fails the rule that guards it, and only that one; the ALB log bucket's SSE-S3 is accepted only
where ELB's log delivery writes."""

from __future__ import annotations

import json

import pytest
from policy_cases import DELETE, bucket_stack, changed, document, export, in_stack, resource

from components.serving.model_routes import ANNOTATION, ingress_annotations, ingress_spec
from components.serving.route_groups import RouteGroup
from infra.declarations.routes import RouteSettings
from mlplat.policy_check import check
from policies.rules.load_balancing import (
    INGRESS,
    PUBLIC_LABEL,
    TEAM_LABEL,
    load_balancer_attributes,
)
from tests.compute.test_eks_models import CPU_MODEL

RULES = (
    "alb-ingress-internal",
    "alb-ingress-tls-listener",
    "alb-ingress-access-logs",
    "alb-ingress-deletion-protection",
    "alb-ingress-token-validation",
)
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
AUTH = (ISSUER, f"{ISSUER}/.well-known/jwks.json")
ROUTES = RouteSettings(
    certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/0000-1111",
    domain="models.example.internal",
    private_zone_id="Z123",
)
MODEL = CPU_MODEL  # an EKS model of team growth


def generated_ingress(stack: str = "prod") -> dict:
    """What TeamRoutes declares for one group, as the export records it."""
    annotations = ingress_annotations(
        RouteGroup("growth", 0),
        [MODEL],
        environment=stack,
        routes=ROUTES,
        vpc_cidr="10.0.0.0/16",
        access_logs_bucket="logs",
        production=stack == "prod",
        auth=AUTH,
    )
    return resource(
        INGRESS,
        "growth-routes-0",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": "routes-0",
                "namespace": "growth",
                "labels": {TEAM_LABEL: "growth"},
                "annotations": annotations,
            },
            "spec": ingress_spec([MODEL]),
        },
        stack=stack,
    )


def violations(entry: dict, stack: str = "prod") -> set[str]:
    return {v.policy for v in check(export(entry, stack=stack)) if v.policy in RULES}


def with_annotation(entry: dict, name: str, value) -> dict:
    """``changed`` splits paths at dots; annotation keys contain dots, so edit them directly."""
    entry = json.loads(json.dumps(entry))
    for section in ("inputs", "outputs"):
        annotations = entry[section]["metadata"]["annotations"]
        if value is DELETE:
            annotations.pop(ANNOTATION + name, None)
        else:
            annotations[ANNOTATION + name] = value
    return entry


def attributes_without(entry: dict, key: str, replacement: str | None = None) -> dict:
    raw = entry["inputs"]["metadata"]["annotations"][ANNOTATION + "load-balancer-attributes"]
    kept = [item for item in raw.split(",") if not item.startswith(f"{key}=")]
    if replacement is not None:
        kept.append(f"{key}={replacement}")
    return with_annotation(entry, "load-balancer-attributes", ",".join(kept))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_generated_ingress_passes_every_load_balancer_rule(stack):
    assert violations(generated_ingress(stack), stack) == set()


@pytest.mark.parametrize(
    ("rule", "edit"),
    [
        ("alb-ingress-internal", lambda e: with_annotation(e, "scheme", "internet-facing")),
        ("alb-ingress-internal", lambda e: with_annotation(e, "scheme", DELETE)),
        # A plain HTTP listener is also one the controller validates no token on.
        (
            ("alb-ingress-tls-listener", "alb-ingress-token-validation"),
            lambda e: with_annotation(e, "listen-ports", '[{"HTTP": 80}]'),
        ),
        (
            ("alb-ingress-tls-listener", "alb-ingress-token-validation"),
            lambda e: with_annotation(e, "listen-ports", '[{"HTTPS": 443}, {"HTTP": 80}]'),
        ),
        (
            ("alb-ingress-tls-listener", "alb-ingress-token-validation"),
            lambda e: with_annotation(e, "listen-ports", DELETE),
        ),
        ("alb-ingress-tls-listener", lambda e: with_annotation(e, "certificate-arn", DELETE)),
        (
            "alb-ingress-access-logs",
            lambda e: attributes_without(e, "access_logs.s3.enabled", "false"),
        ),
        ("alb-ingress-access-logs", lambda e: attributes_without(e, "access_logs.s3.bucket")),
        (
            "alb-ingress-deletion-protection",
            lambda e: attributes_without(e, "deletion_protection.enabled", "false"),
        ),
        (
            "alb-ingress-deletion-protection",
            lambda e: attributes_without(e, "deletion_protection.enabled"),
        ),
        ("alb-ingress-token-validation", lambda e: with_annotation(e, "jwt-validation", DELETE)),
        ("alb-ingress-token-validation", lambda e: with_annotation(e, "jwt-validation", "{")),
        (
            "alb-ingress-token-validation",
            lambda e: with_jwt(e, lambda c: c.update(issuer="http://issuer.example")),
        ),
        (
            "alb-ingress-token-validation",
            lambda e: with_jwt(e, lambda c: c.update(additionalClaims=c["additionalClaims"][:1])),
        ),
        # Another team's scope: the routes would admit that team's callers.
        (
            "alb-ingress-token-validation",
            lambda e: with_jwt(
                e, lambda c: c["additionalClaims"][1].update(values=["routes/fraud.invoke"])
            ),
        ),
        # Any of several scopes: a token of either team would pass.
        (
            "alb-ingress-token-validation",
            lambda e: with_jwt(
                e, lambda c: c["additionalClaims"][1]["values"].append("routes/fraud.invoke")
            ),
        ),
        (
            "alb-ingress-token-validation",
            lambda e: changed(e, "metadata.labels", {}),
        ),
    ],
)
def test_one_setting_changed_fails_its_rule_and_only_it(rule, edit):
    expected = {rule} if isinstance(rule, str) else set(rule)
    assert violations(edit(generated_ingress())) == expected


def with_jwt(entry: dict, edit) -> dict:
    config = json.loads(entry["inputs"]["metadata"]["annotations"][ANNOTATION + "jwt-validation"])
    edit(config)
    return with_annotation(entry, "jwt-validation", json.dumps(config))


def test_an_ingress_declared_public_may_face_the_internet():
    public = with_annotation(generated_ingress(), "scheme", "internet-facing")
    public = changed(public, "metadata.labels", {PUBLIC_LABEL: "public", TEAM_LABEL: "growth"})
    assert violations(public) == set()


def test_deletion_protection_is_required_in_prod_only():
    unprotected = attributes_without(generated_ingress("dev"), "deletion_protection.enabled")
    assert violations(unprotected, "dev") == set()
    assert violations(in_stack(unprotected, "prod")) == {"alb-ingress-deletion-protection"}


def test_ingresses_of_another_class_are_not_judged():
    other = changed(generated_ingress(), "spec.ingressClassName", "nginx")
    other = with_annotation(other, "scheme", "internet-facing")
    assert violations(other) == set()


def test_the_tls_rule_is_mandatory_in_prod():
    broken = with_annotation(generated_ingress(), "certificate-arn", DELETE)
    (found,) = [v for v in check(export(broken)) if v.policy == "alb-ingress-tls-listener"]
    assert found.mandatory


# --- the access-log bucket's SSE-S3 ---------------------------------------------------------


def _sse_s3(stack: list[dict]) -> list[dict]:
    return [
        changed(e, "rules.0.applyServerSideEncryptionByDefault", {"sseAlgorithm": "AES256"})
        if i == 3
        else e
        for i, e in enumerate(stack)
    ]


def _policy_of(bucket: dict, principal: dict) -> dict:
    return resource(
        "aws:s3/bucketPolicy:BucketPolicy",
        "artifacts-policy",
        {
            "bucket": bucket["inputs"]["bucket"],
            "policy": document(
                {
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": "s3:PutObject",
                    "Resource": "arn:aws:s3:::x/*",
                }
            ),
        },
        depends_on={"bucket": [bucket["urn"]]},
    )


def test_sse_s3_is_accepted_only_on_a_bucket_elb_log_delivery_writes_to():
    stack = _sse_s3(bucket_stack())
    elb = {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    other = {"Service": "logging.s3.amazonaws.com"}

    def sse_rule(*entries):
        return [v for v in check(export(*entries)) if v.policy == "s3-sse-kms"]

    assert sse_rule(*stack, _policy_of(stack[0], elb)) == []
    assert sse_rule(*stack, _policy_of(stack[0], other))
    assert sse_rule(*stack)


# --- what each rule says -----------------------------------------------------------------------


def messages(entry: dict, rule: str, stack: str = "prod") -> list[str]:
    return [v.message for v in check(export(entry, stack=stack)) if v.policy == rule]


@pytest.mark.parametrize(
    ("rule", "edit", "expected"),
    [
        (
            "alb-ingress-internal",
            lambda e: with_annotation(e, "scheme", "internet-facing"),
            "scheme is 'internet-facing', not 'internal', and the Ingress is not declared public",
        ),
        (
            "alb-ingress-internal",
            lambda e: changed(
                with_annotation(e, "scheme", DELETE), "metadata.labels", {PUBLIC_LABEL: "private"}
            ),
            "scheme is None, not 'internal', and the Ingress is not declared public",
        ),
        (
            "alb-ingress-tls-listener",
            lambda e: with_annotation(e, "listen-ports", '[{"HTTPS": 443}, {"HTTP": 80}]'),
            "listeners other than HTTPS: [{'HTTP': 80}]",
        ),
        (
            "alb-ingress-tls-listener",
            lambda e: with_annotation(e, "listen-ports", DELETE),
            "no listen-ports: the controller listens on HTTP 80",
        ),
        # not the controller's JSON list: it falls back to its default, HTTP on 80
        (
            "alb-ingress-tls-listener",
            lambda e: with_annotation(e, "listen-ports", '{"HTTPS": 443}'),
            "no listen-ports: the controller listens on HTTP 80",
        ),
        (
            "alb-ingress-tls-listener",
            lambda e: with_annotation(e, "certificate-arn", DELETE),
            "no certificate-arn",
        ),
        (
            "alb-ingress-access-logs",
            lambda e: attributes_without(e, "access_logs.s3.enabled", "false"),
            "access_logs.s3.enabled is not true",
        ),
        (
            "alb-ingress-access-logs",
            lambda e: with_annotation(e, "load-balancer-attributes", DELETE),
            "access_logs.s3.enabled is not true",
        ),
        (
            "alb-ingress-access-logs",
            lambda e: attributes_without(e, "access_logs.s3.bucket"),
            "access logs have no bucket (access_logs.s3.bucket)",
        ),
        (
            "alb-ingress-deletion-protection",
            lambda e: attributes_without(e, "deletion_protection.enabled", "false"),
            "deletion_protection.enabled is not true in prod",
        ),
    ],
)
def test_each_load_balancer_rule_says_what_is_missing(rule, edit, expected):
    assert messages(edit(generated_ingress()), rule) == [expected]


def test_an_ingress_of_class_alb_by_the_legacy_annotation_is_judged():
    """``kubernetes.io/ingress.class: alb``, the class annotation before ingressClassName: the
    controller still honours it (the controller's IngressClass guide, "deprecated annotation")."""
    legacy = changed(generated_ingress(), "spec.ingressClassName", DELETE)
    legacy = json.loads(json.dumps(legacy))
    for section in ("inputs", "outputs"):
        legacy[section]["metadata"]["annotations"]["kubernetes.io/ingress.class"] = "alb"
    assert violations(legacy) == set()
    exposed = with_annotation(legacy, "scheme", "internet-facing")
    assert violations(exposed) == {"alb-ingress-internal"}


def test_load_balancer_attributes_are_split_at_the_first_equals_sign():
    """The controller's stringMap: ``k1=v1,k2=v2``, a value may itself hold ``=``."""
    annotation = ANNOTATION + "load-balancer-attributes"
    raw = "access_logs.s3.prefix=alb/env=prod, deletion_protection.enabled = true,novalue"
    assert load_balancer_attributes({annotation: raw}) == {
        "access_logs.s3.prefix": "alb/env=prod",
        "deletion_protection.enabled": "true",
    }
    assert load_balancer_attributes({}) == {}
