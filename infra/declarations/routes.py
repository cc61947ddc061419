"""How callers reach EKS-served models through the load balancer: the ``mlplat:routes`` settings.

Each team's EKS models share internal Application Load Balancers (``components/serving/
model_routes.py``). With ``certificateArn`` the listener is HTTPS on 443 and each load balancer
gets a name in ``domain`` (a CNAME in the private hosted zone ``privateZoneId``), because a
certificate can only match a name of the domain, never the load balancer's own DNS name; without
it (allowed outside prod only) the listener is plain HTTP on 80 and callers use the load
balancer's DNS name.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import AliasGenerator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from infra.declarations.errors import Problem
from infra.declarations.model import Declaration

# AWS's recommended policy for new HTTPS listeners (TLS 1.3 and 1.2, forward secrecy):
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# With HTTPS routes each team gets one scope on the environment's one Cognito resource server
# (components/route_auth.py), which holds at most 100 (CreateResourceServer and
# UpdateResourceServer, ``Scopes``: "Maximum number of 100 items", Cognito API Reference). The
# one app client per team stays far below the pool's 1,000 (Cognito quotas, adjustable).
MAX_TEAMS_WITH_TOKENS = 100


class RouteSettings(Declaration):
    # The config sections' convention (environment.Settings): camelCase keys in Pulumi.<env>.yaml.
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=AliasGenerator(validation_alias=to_camel),
        populate_by_name=True,
    )

    certificate_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$",
        description="ACM certificate for *.<domain>, in the stack's region. Required in prod.",
    )
    domain: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        description="DNS domain of the load balancers' names (<team>-<group>.<domain>).",
    )
    private_zone_id: str | None = Field(
        default=None, pattern=r"^Z[A-Z0-9]{1,31}$", description="Route 53 zone of `domain`."
    )
    ssl_policy: str = Field(
        default=DEFAULT_SSL_POLICY, pattern=r"^ELBSecurityPolicy-[A-Za-z0-9-]+$"
    )
    access_log_days: int = Field(default=90, ge=1, description="ALB access logs kept this long.")

    @property
    def tls(self) -> bool:
        return self.certificate_arn is not None


def route_problems(routes: RouteSettings, region: str, path: str) -> Iterator[Problem]:
    """The three TLS settings go together; the certificate must be in the load balancer's region
    (ACM certificates are regional, and an ALB uses certificates of its own region only)."""
    given = {
        "certificateArn": routes.certificate_arn,
        "domain": routes.domain,
        "privateZoneId": routes.private_zone_id,
    }
    if any(given.values()) and not all(given.values()):
        missing = ", ".join(key for key, value in given.items() if not value)
        yield Problem(
            f"{path}.routes",
            f"the HTTPS listener needs certificateArn, domain and privateZoneId together; "
            f"missing: {missing}",
        )
    if routes.certificate_arn and routes.certificate_arn.split(":")[3] != region:
        yield Problem(
            f"{path}.routes.certificateArn",
            f"is in {routes.certificate_arn.split(':')[3]}; the load balancers are in {region} and "
            "can use only certificates of their own region",
        )


def route_issuer_problems(routes: RouteSettings, teams: int, path: str) -> Iterator[Problem]:
    """An environment's token issuer has room for 100 teams; refused here rather than by Cognito
    halfway through ``pulumi up``. Without HTTPS there is no issuer, so no limit."""
    if routes.tls and teams > MAX_TEAMS_WITH_TOKENS:
        yield Problem(
            path,
            f"{teams} teams with HTTPS routes: each needs a scope on the environment's Cognito "
            f"resource server, which holds at most {MAX_TEAMS_WITH_TOKENS}; split the teams over "
            "more environments or merge some",
        )


def production_route_problems(routes: RouteSettings, path: str) -> Iterator[Problem]:
    if not routes.tls:
        yield Problem(
            f"{path}.routes.certificateArn",
            "is required in prod: model routes are served over HTTPS only (set certificateArn, "
            "domain and privateZoneId under mlplat:routes in Pulumi.prod.yaml)",
        )
