"""Rule groups packed into AMP rule groups namespaces, and AMP's workspace quotas checked on
them and on the series the models make.

Quotas (Amazon Managed Service for Prometheus; "per workspace" unless said), and where each
number comes from:
- a namespace name is 1-64 characters (CloudFormation AWS::APS::RuleGroupsNamespace, Name);
- a namespace name and a rule group name together at most 721 UTF-8 bytes
  (API reference, CreateRuleGroupsNamespace);
- rules per workspace (recording and alerting together): 2,000, adjustable (service quota
  L-3D15CDB4 "Rules per workspace", listed on the user guide's AMP_quotas.html; the default of
  2,000 and the 200,000 it can be raised to are from AWS's 2026-07-21 announcement "Amazon
  Managed Service for Prometheus supports 1.5B active metrics and 200K rules per workspace" as
  summarised; the table row itself was not readable in the copy seen);
- a rules file (one namespace's definition): service quota L-C62641E3 "Rule group namespace
  definition file size"; its default is NOT confirmed from AWS's pages here: 1 MB is kept, read
  as decimal bytes (the stricter reading);
- namespaces per workspace, rule groups per namespace: no such quota was found (neither in the
  AMP_quotas.html rows readable here nor among the AMP service-quota names seen, a partial
  list); not checked;
- active series: AMP_quotas.html, "Active series per workspace": 10,000,000 (the page's older
  copy; a newer one says 50,000,000, adjusted from 2,000,000 up with the last 30 minutes' use):
  10,000,000 is checked, at every model's maximum replicas;
- ingestion: AMP_quotas.html's series table, "Ingestion rate: 140,000 samples per second"
  (newer copies derive a higher rate from the active-series quota): series / scrape interval at
  maximum replicas must stay within it.
Not checked here (runtime, or per alert manager): active alerts per alert manager (1,000,
adjustable) and the size of an alert aggregation group (1,000; one group per ``team``,
``alertname`` and ``model``, ``alertmanager.GROUP_BY``), both AMP_quotas.html.

One namespace per team (its alerts change with its models only) and one for the platform's
recording rules; a team whose rules file would pass the size limit gets ``_2``, ``_3``, ...
With layered stacks each serving shard holds its own models' namespace: ``.<shard>`` after the
team for shards 1, 2, ... A team name is a DNS label (no ``.`` or ``_``; namespace names take
``[-.0-9A-Z_a-z]``, API reference, CreateRuleGroupsNamespace), so ``team_namespace_patterns``
never reaches another team's namespaces (``fraud``'s never ``fraud-ops``'s).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import yaml

NAMESPACE_NAME_MAX = 64
NAMESPACE_AND_GROUP_NAME_MAX_BYTES = 721
RULES_PER_WORKSPACE = 2_000
NAMESPACE_DATA_MAX_BYTES = 1_000_000  # 1 MB, read as decimal: the stricter reading
ACTIVE_SERIES_PER_WORKSPACE = 10_000_000
INGESTION_SAMPLES_PER_SECOND = 140_000
# In the team's place in the platform's namespace name, mlplat-<env>-recording: no team may be
# named so (infra.declarations.model.PLATFORM_NAMES).
RECORDING = "recording"


@dataclass(frozen=True)
class RuleNamespace:
    name: str
    groups: tuple[dict, ...]

    @property
    def data(self) -> str:
        """The rules file, as ``aws.amp.RuleGroupNamespace(data=...)`` takes it."""
        return rules_file(self.groups)

    @property
    def rule_count(self) -> int:
        return sum(len(group["rules"]) for group in self.groups)


def group_text(group: dict) -> str:
    """One rule group as an item of the file's ``groups`` list (block YAML at indent 0)."""
    return yaml.dump([group], Dumper=yaml.CSafeDumper, sort_keys=False, width=1_000_000)


def rules_file(groups: Iterable[dict]) -> str:
    # The file is its groups' texts in a row: packing can size a namespace group by group.
    return "groups:\n" + "".join(group_text(group) for group in groups)


def namespace_base(environment: str, team: str, shard: int = 0) -> str:
    """The first namespace name of a team's shard (``team`` ``""``: the platform's recording)."""
    return f"mlplat-{environment}-{team or RECORDING}" + (f".{shard}" if shard else "")


def team_namespace_patterns(environment: str, team: str) -> tuple[str, ...]:
    """Every namespace name ``team`` can have, as IAM globs: shard 0's exactly, its overflow
    (``_<n>``) and its further shards' (``.<shard>``)."""
    own = namespace_base(environment, team)
    return own, f"{own}_*", f"{own}.*"


def pack(
    environment: str, groups_by_team: dict[str, list[dict]], shard: int = 0
) -> list[RuleNamespace]:
    """``groups_by_team`` as ``prometheus_rules.rule_groups`` returns it (``""``: platform);
    ``shard``: the serving shard whose models these are (layered stacks)."""
    namespaces = []
    for team, groups in sorted(groups_by_team.items()):
        base = namespace_base(environment, team, shard if team else 0)
        chunks: list[list[dict]] = [[]]
        size = len(rules_file([]).encode())
        for group in groups:
            grown = size + len(group_text(group).encode())
            if chunks[-1] and grown > NAMESPACE_DATA_MAX_BYTES:
                chunks.append([])
                grown = len(rules_file([group]).encode())
            chunks[-1].append(group)
            size = grown
        for index, chunk in enumerate(chunks, start=1):
            name = base if index == 1 else f"{base}_{index}"
            namespaces.append(RuleNamespace(name=name, groups=tuple(chunk)))
    return namespaces


def quota_problems(namespaces: Iterable[RuleNamespace]) -> list[str]:
    """Every way these namespaces would be refused by one AMP workspace, empty when none."""
    namespaces = list(namespaces)
    problems = []
    total = sum(namespace.rule_count for namespace in namespaces)
    if total > RULES_PER_WORKSPACE:
        problems.append(f"{total} rules; an AMP workspace holds {RULES_PER_WORKSPACE}")
    for namespace in namespaces:
        if not 1 <= len(namespace.name) <= NAMESPACE_NAME_MAX:
            problems.append(f"namespace {namespace.name!r}: name over {NAMESPACE_NAME_MAX} chars")
        size = len(namespace.data.encode())
        if size > NAMESPACE_DATA_MAX_BYTES:
            problems.append(f"namespace {namespace.name!r}: rules file of {size} bytes")
        for group in namespace.groups:
            joined = f"{namespace.name}{group['name']}".encode()
            if len(joined) > NAMESPACE_AND_GROUP_NAME_MAX_BYTES:
                problems.append(f"namespace {namespace.name!r}: group {group['name']!r} name")
    return problems


def series_problems(peak_series: int, scrape_interval_seconds: int) -> list[str]:
    """Where the models' series at their maximum replicas pass the workspace's series or
    ingestion quota (throttled samples are lost, not queued), empty when none."""
    problems = []
    if peak_series > ACTIVE_SERIES_PER_WORKSPACE:
        problems.append(
            f"{peak_series} active series at maximum replicas; an AMP workspace holds "
            f"{ACTIVE_SERIES_PER_WORKSPACE}"
        )
    # Whole samples per second, rounded up: a fraction over the quota is still over it.
    rate = -(-peak_series // scrape_interval_seconds)
    if rate > INGESTION_SAMPLES_PER_SECOND:
        problems.append(
            f"{rate} samples/s at maximum replicas every {scrape_interval_seconds} s; an AMP "
            f"workspace ingests {INGESTION_SAMPLES_PER_SECOND}"
        )
    return problems
