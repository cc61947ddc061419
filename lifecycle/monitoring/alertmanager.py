"""The AMP alert manager definition: each team's alerts to its own SNS topic.

Every generated alert carries the owning ``team`` label (``prometheus_rules``); a route per team
matches it and sends to the team's topic (AMP's alert manager supports SNS receivers only,
signed with SigV4 in the workspace's region: AMP user guide, "Understand alert manager
configuration"). AMP takes the Alertmanager configuration under ``alertmanager_config`` as a
string. Alerts without a team (none are generated; the pack checks every alert has one) go to
the environment's platform topic, never silently nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

GROUP_BY = ("team", "alertname", "model")


def receiver_name(team: str) -> str:
    return f"team-{team}"


def _sns(topic_arn: str, region: str) -> dict:
    return {"topic_arn": topic_arn, "sigv4": {"region": region}}


def alertmanager_config(team_topics: Mapping[str, str], platform_topic: str, region: str) -> dict:
    routes = [
        {"receiver": receiver_name(team), "matchers": [f'team="{team}"']}
        for team in sorted(team_topics)
    ]
    receivers = [{"name": "platform", "sns_configs": [_sns(platform_topic, region)]}] + [
        {"name": receiver_name(team), "sns_configs": [_sns(team_topics[team], region)]}
        for team in sorted(team_topics)
    ]
    return {
        "route": {"receiver": "platform", "group_by": list(GROUP_BY), "routes": routes},
        "receivers": receivers,
    }


def definition_text(team_topics: Mapping[str, str], platform_topic: str, region: str) -> str:
    """As ``aws.amp.AlertManagerDefinition(definition=...)`` takes it."""
    inner = yaml.safe_dump(
        alertmanager_config(team_topics, platform_topic, region), sort_keys=False
    )
    return yaml.safe_dump({"alertmanager_config": inner}, sort_keys=False, width=1_000_000)
