"""Load balancers made from Ingress objects by the AWS Load Balancer Controller (class ``alb``).

The controller reads an ALB's settings from the Ingress's ``alb.ingress.kubernetes.io/*``
annotations (its annotations reference, v3.5.0 docs/guide/ingress/annotations.md), so these rules
judge those: the scheme, the listeners and certificate, and the load balancer attributes
(``access_logs.s3.*``, ``deletion_protection.enabled``). With one Ingress per IngressGroup (the
platform's layout), each Ingress holds its load balancer's whole configuration.
"""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, Severity

from policies.framework import dig, is_prod, resource_rule

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
PREFIX = "alb.ingress.kubernetes.io/"
ALB_CLASS = "alb"
# An Ingress declared public says so with this label; every other one must be internal.
PUBLIC_LABEL = "mlplat.io/exposure"


def _annotations(args: ResourceValidationArgs) -> dict[str, str]:
    return dig(args.props, "metadata", "annotations", default={}) or {}


def _is_alb(args: ResourceValidationArgs) -> bool:
    legacy = _annotations(args).get("kubernetes.io/ingress.class")
    return dig(args.props, "spec", "ingressClassName") == ALB_CLASS or legacy == ALB_CLASS


def load_balancer_attributes(annotations: dict[str, str]) -> dict[str, str]:
    """The controller's stringMap format: ``k1=v1,k2=v2``."""
    raw = annotations.get(PREFIX + "load-balancer-attributes", "")
    pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
    return {key.strip(): value.strip() for key, value in pairs}


def _listen_ports(annotations: dict[str, str]) -> list[Any] | None:
    raw = annotations.get(PREFIX + "listen-ports")
    if raw is None:
        return None
    try:
        ports = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return ports if isinstance(ports, list) else None


@resource_rule(
    name="alb-ingress-internal",
    description="Load balancers made from Ingress objects are internal, unless the Ingress is "
    f"declared public (label {PUBLIC_LABEL}: public).",
    severity=Severity.HIGH,
    remediation=f"Annotate {PREFIX}scheme: internal, or label the Ingress {PUBLIC_LABEL}: public "
    "when it is meant to face the internet.",
    resource_types=(INGRESS,),
    enforcement=EnforcementLevel.MANDATORY,
)
def alb_ingress_internal(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_alb(args):
        return
    labels = dig(args.props, "metadata", "labels", default={}) or {}
    if labels.get(PUBLIC_LABEL) == "public":
        return
    scheme = _annotations(args).get(PREFIX + "scheme")
    if scheme != "internal":
        report(f"scheme is {scheme!r}, not 'internal', and the Ingress is not declared public")


@resource_rule(
    name="alb-ingress-tls-listener",
    description="Load balancers made from Ingress objects listen on HTTPS only, with a "
    "certificate.",
    severity=Severity.HIGH,
    remediation=f"Annotate {PREFIX}listen-ports: '[{{\"HTTPS\": 443}}]' and "
    f"{PREFIX}certificate-arn with an ACM certificate (mlplat:routes.certificateArn).",
    resource_types=(INGRESS,),
)
def alb_ingress_tls_listener(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_alb(args):
        return
    annotations = _annotations(args)
    ports = _listen_ports(annotations)
    if not ports:
        # The controller's default without a certificate is HTTP on 80.
        report("no listen-ports: the controller listens on HTTP 80")
    else:
        plain = [p for p in ports if not isinstance(p, dict) or set(p) != {"HTTPS"}]
        if plain:
            report(f"listeners other than HTTPS: {plain}")
    if not annotations.get(PREFIX + "certificate-arn"):
        report("no certificate-arn")


@resource_rule(
    name="alb-ingress-access-logs",
    description="Load balancers made from Ingress objects write access logs to S3.",
    severity=Severity.MEDIUM,
    remediation=f"Annotate {PREFIX}load-balancer-attributes with access_logs.s3.enabled=true,"
    "access_logs.s3.bucket=<the platform's access-log bucket>.",
    resource_types=(INGRESS,),
)
def alb_ingress_access_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_alb(args):
        return
    attributes = load_balancer_attributes(_annotations(args))
    if attributes.get("access_logs.s3.enabled") != "true":
        report("access_logs.s3.enabled is not true")
    elif not attributes.get("access_logs.s3.bucket"):
        report("access logs have no bucket (access_logs.s3.bucket)")


@resource_rule(
    name="alb-ingress-deletion-protection",
    description="In prod, load balancers made from Ingress objects have deletion protection on.",
    severity=Severity.HIGH,
    remediation=f"Annotate {PREFIX}load-balancer-attributes with deletion_protection.enabled=true.",
    resource_types=(INGRESS,),
)
def alb_ingress_deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_alb(args) or not is_prod(args.urn):
        return
    attributes = load_balancer_attributes(_annotations(args))
    if attributes.get("deletion_protection.enabled") != "true":
        report("deletion_protection.enabled is not true in prod")


TEAM_LABEL = "mlplat.io/team"
# The scope a team's tokens carry (components/route_auth.py team_scope), restated here so the
# pack judges the rule's meaning rather than trusting the code that writes it.
TEAM_SCOPE = "routes/{team}.invoke"


def token_validation_problems(annotations: dict[str, str], team: str | None) -> list[str]:
    """Why the Ingress's routes would admit a caller without a valid token of its team."""
    problems = []
    ports = _listen_ports(annotations) or []
    if not ports or any(not isinstance(p, dict) or set(p) != {"HTTPS"} for p in ports):
        # The controller (v3.5.0) adds the validation action on HTTPS listeners only.
        problems.append("a listener other than HTTPS: the controller validates tokens on none")
    raw = annotations.get(PREFIX + "jwt-validation")
    if raw is None:
        return [*problems, "no jwt-validation: any caller in the VPC reaches the routes"]
    try:
        config = json.loads(raw)
    except json.JSONDecodeError:
        return [*problems, "jwt-validation is not JSON"]
    if not isinstance(config, dict):
        return [*problems, "jwt-validation is not a JSON object"]
    for field in ("issuer", "jwksEndpoint"):
        if not str(config.get(field, "")).startswith("https://"):
            problems.append(f"jwt-validation.{field} is not an https:// URL")
    claims = {c.get("name"): c for c in config.get("additionalClaims") or [] if isinstance(c, dict)}
    scope = claims.get("scope") or {}
    wanted = [TEAM_SCOPE.format(team=team)] if team else None
    if wanted is None:
        problems.append(f"no {TEAM_LABEL} label: the team whose scope is required is unknown")
    elif scope.get("format") != "space-separated-values" or scope.get("values") != wanted:
        problems.append(f"jwt-validation does not require the scope {wanted[0]}")
    return problems


@resource_rule(
    name="alb-ingress-token-validation",
    description="Routes behind load balancers made from Ingress objects admit only callers with "
    "an access token of the routes' team: HTTPS listeners and jwt-validation requiring the team's "
    "scope.",
    severity=Severity.HIGH,
    remediation=f"Serve the routes over HTTPS (mlplat:routes.certificateArn) so TeamRoutes writes "
    f"{PREFIX}jwt-validation with the platform's token issuer and the team's scope.",
    resource_types=(INGRESS,),
)
def alb_ingress_token_validation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_alb(args):
        return
    labels = dig(args.props, "metadata", "labels", default={}) or {}
    for problem in token_validation_problems(_annotations(args), labels.get(TEAM_LABEL)):
        report(problem)
