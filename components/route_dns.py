"""The DNS names of the teams' load balancers, and who may write them.

With TLS, each route group's load balancer is reached as ``<team>-<n>.<domain>`` (a CNAME in the
private zone to the ALB's own DNS name), the name its ``*.<domain>`` certificate matches.

A team's deployer may write only its own names. ``StringLike`` knows only ``*`` and ``?``, and
``fraud-*`` would also match team ``fraud-ops``'s ``fraud-ops-0``; so the grant lists
``<team>-?`` and ``<team>-??``: exactly one or two characters after the team's name and '-',
which no other team's name can produce (another team's names are longer, ``<other>-<n>`` with a
team name of at least the same length plus one). That covers groups 0-99, 9,900 models a team.
Route 53 matches the condition against the normalized record names: lower case, no trailing dot
(https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html).
"""

from __future__ import annotations

from components.iam_documents import Statement

NAMES_CONDITION = "route53:ChangeResourceRecordSetsNormalizedRecordNames"


def dns_name(label: str, domain: str) -> str:
    """``label``: the route group's ``<team>-<n>``."""
    return f"{label}.{domain}"


def team_name_patterns(team: str, domain: str) -> tuple[str, ...]:
    return (f"{team}-?.{domain}", f"{team}-??.{domain}")


def route_name_statements(zone_id: str, names: tuple[str, ...], sid_prefix: str) -> list[Statement]:
    """Write records named ``names`` (patterns) in the zone; read the zone and its changes."""
    zone = f"arn:aws:route53:::hostedzone/{zone_id}"
    return [
        Statement(
            f"{sid_prefix}RouteNames",
            ("route53:ChangeResourceRecordSets",),
            (zone,),
            conditions={"ForAllValues:StringLike": {NAMES_CONDITION: names}},
        ),
        Statement(
            f"{sid_prefix}RouteZone",
            ("route53:GetHostedZone", "route53:ListResourceRecordSets"),
            (zone,),
        ),
        # Change ids are AWS-generated; the provider waits on the change it made.
        Statement(
            f"{sid_prefix}RouteChanges", ("route53:GetChange",), ("arn:aws:route53:::change/*",)
        ),
    ]
