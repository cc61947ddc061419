"""A team's load-balanced routes: one Ingress per route group, which the AWS Load Balancer
Controller turns into one internal Application Load Balancer (an explicit IngressGroup).

Per group: the Ingress (one path rule per model version, rewritten to the container's
``/invocations``; one target group per model's Service, pods as targets) and, with TLS, a CNAME
``<team>-<n>.<domain>`` to the load balancer, the name its certificate matches. Two resources per
group, none per model: adding a model changes its group's Ingress, so a team of 100 EKS models
adds 2 resources to its serving stack, not 100 (the 1,500-resource budget of ``layers_scale``).

Load balancer settings (``ingress_annotations``, a pure function so the policy rules and tests
read the same thing): internal scheme; HTTPS on 443 only with the configured certificate and TLS
policy (HTTP on 80 only where no certificate is configured, never in prod); inbound from the
VPC's CIDR only; health checks on the model's readiness path; deregistration delay from
``draining``; access logs to the platform's bucket under ``<team>/<n>``; deletion protection in
prod; the environment and team tags on the load balancer.

Authorisation (``jwt_validation``): with HTTPS, every rule of a group verifies the caller's
access token before routing (the controller's ``jwt-validation``, v3.5.0): signed by the
platform's token issuer (``components/route_auth.py``), not expired, an access token, and
granted the group's team scope. The controller adds the validation action on HTTPS listeners
only and ignores the annotation on HTTP ones (v3.5.0 ``pkg/ingress/model_build_actions.go``;
its annotations guide: "JWT validation is only supported for HTTPS listeners"; ELB's API
reference, Action ``JwtValidationConfig``: "[HTTPS listeners]"), so a group
without a certificate (allowed outside prod) authenticates nobody: the annotation is left off
rather than written where it does nothing, and the policy pack refuses such a route in prod.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.alb_controller import INGRESS_CLASS
from components.base import PlatformComponent
from components.eks_model import READINESS_PATH
from components.registry_route import INVOCATIONS_PATH, Route, load_balanced, model_path
from components.route_auth import RouteAuth, team_scope
from components.route_dns import dns_name
from components.serving.draining import DEREGISTRATION_DELAY_SECONDS
from components.serving.route_groups import RouteGroup
from infra.declarations import ModelDeclaration
from infra.declarations.routes import RouteSettings
from infra.declarations.tags import (
    LOAD_BALANCER_JOINS,
    LOAD_BALANCER_LABEL,
    LOAD_BALANCER_OWNS,
    TAG_ENVIRONMENT,
    TAG_TEAM,
)

ANNOTATION = "alb.ingress.kubernetes.io/"
SERVICE_PORT = "http"  # eks_model's Service port name
DNS_TTL_SECONDS = 60


def listen_ports(routes: RouteSettings) -> list[dict[str, int]]:
    return [{"HTTPS": 443}] if routes.tls else [{"HTTP": 80}]


def base_url(routes: RouteSettings, group: RouteGroup, hostname: str) -> str:
    """Where callers reach the group: its name in the domain with TLS (the certificate's name),
    else the load balancer's own DNS name over HTTP."""
    if routes.tls:
        return f"https://{dns_name(group.label, routes.domain)}"
    return f"http://{hostname}"


def rewrite(model: ModelDeclaration) -> list[dict]:
    """The listener rule's URL rewrite: the model's path becomes the container's /invocations
    (ALB rule transforms; the controller's ``transforms.<service>`` annotation, since v2.15)."""
    pattern = "^" + model_path(model.name, model.version).replace("/", "\\/") + "$"
    return [
        {
            "type": "url-rewrite",
            "urlRewriteConfig": {"rewrites": [{"regex": pattern, "replace": INVOCATIONS_PATH}]},
        }
    ]


def jwt_validation(team: str, issuer: str, jwks_url: str) -> dict:
    """The ``jwt-validation`` annotation's value. ALB always checks the signature (RS256),
    ``iss`` and ``exp`` (and ``nbf``/``iat`` when present); the extra claims are ``token_use``
    (Cognito's ID tokens are JWTs of the same issuer, but only access tokens carry scopes) and
    ``scope``. Cognito writes ``scope`` as space-separated values; ALB's
    ``space-separated-values`` format compares the listed values with the token's; with one
    value listed, "the token's scopes include the team's" is the only reading, whether ALB
    wants any or all of the listed values. ``client_id`` is not pinned: the scope is granted to
    the team's own client only (tested), and pinning the client would tie every load balancer
    to a client id a rotation replaces."""
    return {
        "jwksEndpoint": jwks_url,
        "issuer": issuer,
        "additionalClaims": [
            {"name": "token_use", "format": "single-string", "values": ["access"]},
            {"name": "scope", "format": "space-separated-values", "values": [team_scope(team)]},
        ],
    }


def ingress_annotations(
    group: RouteGroup,
    models: Sequence[ModelDeclaration],
    *,
    environment: str,
    routes: RouteSettings,
    vpc_cidr: str,
    access_logs_bucket: str,
    production: bool,
    auth: tuple[str, str] | None = None,
) -> dict[str, str]:
    """``auth``: the token issuer and its JWKS URL, which an HTTPS group requires."""
    attributes = {
        "access_logs.s3.enabled": "true",
        "access_logs.s3.bucket": access_logs_bucket,
        "access_logs.s3.prefix": f"{group.team}/{group.number}",
        "deletion_protection.enabled": str(production).lower(),
        "routing.http.drop_invalid_header_fields.enabled": "true",
    }
    annotations = {
        "group.name": group.ingress_group(environment),
        "scheme": "internal",
        "target-type": "ip",
        "listen-ports": json.dumps(listen_ports(routes)),
        "inbound-cidrs": vpc_cidr,
        "healthcheck-path": READINESS_PATH,
        "success-codes": "200",
        "target-group-attributes": f"deregistration_delay.timeout_seconds="
        f"{DEREGISTRATION_DELAY_SECONDS}",
        "load-balancer-attributes": ",".join(f"{k}={v}" for k, v in attributes.items()),
        "tags": f"{TAG_ENVIRONMENT}={environment},{TAG_TEAM}={group.team}",
        **{f"transforms.{model.name}": json.dumps(rewrite(model)) for model in models},
    }
    if routes.tls:
        if auth is None:
            raise ValueError(f"route group {group.label}: HTTPS routes need the token issuer")
        annotations["certificate-arn"] = routes.certificate_arn
        annotations["ssl-policy"] = routes.ssl_policy
        annotations["jwt-validation"] = json.dumps(jwt_validation(group.team, *auth))
    return {ANNOTATION + key: value for key, value in annotations.items()}


def ingress_spec(models: Sequence[ModelDeclaration]) -> dict:
    return {
        "ingressClassName": INGRESS_CLASS,
        "rules": [
            {
                "http": {
                    "paths": [
                        {
                            "path": model_path(model.name, model.version),
                            "pathType": "Exact",
                            "backend": {
                                "service": {"name": model.name, "port": {"name": SERVICE_PORT}}
                            },
                        }
                        for model in sorted(models, key=lambda m: m.name)
                    ]
                }
            }
        ],
    }


class TeamRoutes(PlatformComponent):
    """``groups``: the team's EKS models by route group (``route_groups``); ``route_of(model,
    in_cluster)`` is the model's route with its load balancer URL, for the registry."""

    TYPE = "mlplat:serving:TeamRoutes"

    def __init__(
        self,
        name: str,
        *,
        environment: str,
        groups: Mapping[RouteGroup, Sequence[ModelDeclaration]],
        namespace: pulumi.Input[str],
        routes: RouteSettings,
        vpc_cidr: str,
        access_logs_bucket: pulumi.Input[str],
        production: bool,
        provider: k8s.Provider,
        route_auth: RouteAuth | None = None,
        depends_on: Sequence[pulumi.Resource] = (),
        shard: int = 0,
        owns_dns: Callable[[RouteGroup], bool] = lambda group: True,
        opts=None,
    ) -> None:
        """A split team's shards each route their own models of a group: one Ingress per shard
        (``routes-<n>`` in shard 0, ``routes-<n>-s<shard>`` elsewhere) in the same IngressGroup,
        which the controller merges into the group's one load balancer; the group's DNS name is
        made, and its load balancer's cost counted, by the one shard ``owns_dns`` names."""
        super().__init__(name, opts=opts)
        self._routes = routes
        self._base_urls: dict[str, pulumi.Output[str]] = {}
        for group, models in sorted(groups.items()):
            issuer = route_auth.issuer if route_auth else ""
            jwks = route_auth.jwks_url if route_auth else ""
            annotations = pulumi.Output.all(access_logs_bucket, issuer, jwks).apply(
                lambda values, group=group, models=models: ingress_annotations(
                    group,
                    models,
                    environment=environment,
                    routes=routes,
                    vpc_cidr=vpc_cidr,
                    access_logs_bucket=values[0],
                    production=production,
                    auth=(values[1], values[2]) if values[1] else None,
                )
            )
            ingress = k8s.networking.v1.Ingress(
                f"{name}-{group.label}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"routes-{group.number}" + (f"-s{shard}" if shard else ""),
                    namespace=namespace,
                    labels={
                        "mlplat.io/team": group.team,
                        "mlplat.io/route-group": group.label,
                        # Which shard's cost the group's one load balancer is (mlplat cost).
                        LOAD_BALANCER_LABEL: (
                            LOAD_BALANCER_OWNS if owns_dns(group) else LOAD_BALANCER_JOINS
                        ),
                    },
                    annotations=annotations,
                ),
                spec=ingress_spec(models),
                # The Services exist first: Pulumi waits for an Ingress's backends.
                opts=self.child_opts(provider=provider, depends_on=list(depends_on)),
            )
            hostname = ingress.status.apply(lambda status: status.load_balancer.ingress[0].hostname)
            ready = hostname  # with TLS, callers are told the URL once its name exists
            if routes.tls and owns_dns(group):
                record = aws.route53.Record(
                    f"{name}-{group.label}-dns",
                    zone_id=routes.private_zone_id,
                    name=dns_name(group.label, routes.domain),
                    type="CNAME",
                    ttl=DNS_TTL_SECONDS,
                    records=[hostname],
                    opts=self.child_opts(),
                )
                ready = pulumi.Output.all(record.name, hostname).apply(lambda v: v[1])
            url = ready.apply(lambda host, group=group: base_url(routes, group, host))
            for model in models:
                self._base_urls[model.name] = url
        self.register_outputs({})

    def route_of(self, model: ModelDeclaration, in_cluster: pulumi.Input[Route]) -> pulumi.Output:
        base = self._base_urls[model.name]
        return pulumi.Output.all(in_cluster, base).apply(
            lambda values: load_balanced(values[0], values[1], model.name, model.version)
        )
