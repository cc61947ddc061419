"""Prometheus recording and alerting rules for the models served on EKS, from their declarations.

Pure: plain dicts in the Prometheus rules-file shape, no Pulumi (a component will put each
``RuleNamespace`` into an ``aws.amp.RuleGroupNamespace``).

Shape, chosen so the rule count stays far below AMP's per-workspace quota at 1,000 models:
- recording rules aggregate ``by (namespace, model)`` once for every model (3 rules in all);
- alerting rules are written per team and per set of objectives, for at most
  ``MODELS_PER_RULE`` models each (``model=~"a|b|..."``); every alert carries the ``model`` of
  the series that fired, the owning ``team`` (the label AMP's alert manager routes on, to the
  team's SNS topic) and a ``severity``. With platform defaults a team's models share one rule
  per alert; a model with its own objectives gets its own rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass

from infra.declarations import ModelDeclaration
from infra.declarations.model import ServingTarget
from lifecycle.monitoring import metrics as m
from lifecycle.monitoring.objectives import Objectives, objectives_for

# Bounds one rule's expression (a 1,000-model alternation would be ~25 kB) and one group's
# evaluation; the rule count grows by one set of alerts per this many models.
MODELS_PER_RULE = 200
RUNBOOK = "README.md#alerts-on-eks-models"
RECORDING_GROUP = "mlplat-serving-recording"
# A Deployment's pods are named <deployment>-<pod-template-hash>-<suffix>; the deployment, the
# HPA and the model share the model's name (components.eks_model).
POD_SUFFIX = "-[a-z0-9]+-[a-z0-9]+"


@dataclass(frozen=True)
class ModelAlertGroup:
    """Models of one team held to the same objectives, alerted on by the same rules."""

    team: str
    objectives: Objectives
    models: tuple[ModelDeclaration, ...]

    @property
    def name(self) -> str:
        digest = hashlib.sha256(repr(astuple(self.objectives)).encode()).hexdigest()[:8]
        first = self.models[0].name
        return f"mlplat-{self.team}-{digest}-{first}"


def eks_models(models: Iterable[ModelDeclaration]) -> list[ModelDeclaration]:
    return [model for model in models if model.serving == ServingTarget.EKS]


def alert_groups(
    models: Iterable[ModelDeclaration],
    objectives: Callable[[ModelDeclaration], Objectives] = objectives_for,
) -> list[ModelAlertGroup]:
    """EKS models grouped by team and objectives, in chunks of ``MODELS_PER_RULE``."""
    by_key: dict[tuple[str, Objectives], list[ModelDeclaration]] = {}
    for model in sorted(eks_models(models), key=lambda model: (model.team, model.name)):
        by_key.setdefault((model.team, objectives(model)), []).append(model)
    groups = []
    for (team, held_to), members in by_key.items():
        for start in range(0, len(members), MODELS_PER_RULE):
            chunk = tuple(members[start : start + MODELS_PER_RULE])
            groups.append(ModelAlertGroup(team=team, objectives=held_to, models=chunk))
    return sorted(groups, key=lambda group: group.name)


def recording_group() -> dict:
    """Request rate, error rate and p99 latency per model, recorded once for all models."""
    by = "namespace, model"
    return {
        "name": RECORDING_GROUP,
        "rules": [
            {"record": m.REQUEST_RATE, "expr": f"sum by ({by}) (rate({m.RESPONSES}[5m]))"},
            {
                "record": m.ERROR_RATE,
                "expr": f'sum by ({by}) (rate({m.RESPONSES}{{code=~"5.."}}[5m]))',
            },
            {
                "record": m.LATENCY_P99,
                "expr": (
                    f"histogram_quantile(0.99, sum by ({by}, le) "
                    f"(rate({m.REQUEST_DURATION}_bucket[5m])))"
                ),
            },
        ],
    }


def _alternation(models: Iterable[ModelDeclaration]) -> str:
    # Model names are DNS labels: nothing in them is special in a regular expression.
    return "|".join(model.name for model in models)


def _as_model(expr: str, source_label: str, pattern: str = "(.+)") -> str:
    return f'label_replace({expr}, "model", "$1", "{source_label}", "{pattern}")'


def _alert(name: str, expr: str, group: ModelAlertGroup, severity: str, summary: str, for_=None):
    rule = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"team": group.team, "severity": severity}
    rule["annotations"] = {
        "summary": summary,
        "runbook_url": RUNBOOK,
    }
    return rule


def alerting_rules(group: ModelAlertGroup) -> list[dict]:
    """The alerts for one group of models (GPU saturation only over its GPU models)."""
    o = group.objectives
    ns = f'namespace="{group.team}"'
    names = _alternation(group.models)
    serving = f'{{{ns}, model=~"{names}"}}'
    pods = f'pod=~"({names}){POD_SUFFIX}"'
    server = f'{{{ns}, container="{m.SERVER_CONTAINER}", {pods}}}'
    model_of_pod = ("pod", f"(.+){POD_SUFFIX}")
    requests = f"{m.REQUEST_RATE}{serving}"
    hpas = f'{{{ns}, {m.HPA_LABEL}=~"{names}"}}'
    rules = [
        _alert(
            "ModelLatencyP99OverObjective",
            f"{m.LATENCY_P99}{serving} > {o.latency_p99_seconds}",
            group,
            "critical",
            "{{ $labels.model }}: p99 latency over its objective of "
            f"{o.latency_p99_seconds}s for {o.latency_for}",
            o.latency_for,
        ),
        _alert(
            "ModelErrorRatioOverObjective",
            f"({m.ERROR_RATE}{serving} / {requests} > {o.error_ratio})"
            f" and on (namespace, model) ({requests} >= {o.min_requests_per_second})",
            group,
            "critical",
            "{{ $labels.model }}: 5xx responses over its objective of "
            f"{o.error_ratio:.2%} (at {o.min_requests_per_second} req/s or more)",
            o.error_for,
        ),
        _alert(
            "ModelPodRestarting",
            "sum by (namespace, model) ("
            + _as_model(
                f"increase({m.POD_RESTARTS}{server}[15m])",
                *model_of_pod,
            )
            + f") > {o.restarts_in_15m}",
            group,
            "warning",
            "{{ $labels.model }}: the model container restarted more than "
            f"{o.restarts_in_15m} times in 15m",
        ),
        _alert(
            "ModelReplicasAtHpaMaximum",
            _as_model(
                f"max by (namespace, {m.HPA_LABEL}) ({m.HPA_CURRENT}{hpas})"
                f" >= on (namespace, {m.HPA_LABEL}) "
                f"max by (namespace, {m.HPA_LABEL}) ({m.HPA_MAX}{hpas})",
                m.HPA_LABEL,
            ),
            group,
            "warning",
            "{{ $labels.model }}: replicas at the HPA maximum for "
            f"{o.hpa_at_max_for}: it cannot scale out further",
            o.hpa_at_max_for,
        ),
    ]
    if o.expects_traffic:
        deployments = f'{{{ns}, deployment=~"{names}"}}'
        rules.append(
            _alert(
                "ModelNoTraffic",
                "(sum by (namespace, model) ("
                + _as_model(f"{m.DEPLOYMENT_AVAILABLE}{deployments}", "deployment")
                + f") > 0) unless on (namespace, model) ({requests} > 0)",
                group,
                "warning",
                "{{ $labels.model }}: running but served no request (or its request metrics are "
                f"missing) for {o.no_traffic_for}",
                o.no_traffic_for,
            )
        )
    gpu_models = [model for model in group.models if model.uses_gpu]
    if gpu_models:
        gpu_pods = (
            f'{{{ns}, container="{m.SERVER_CONTAINER}", '
            f'pod=~"({_alternation(gpu_models)}){POD_SUFFIX}"}}'
        )
        util = _as_model(f"{m.GPU_UTIL}{gpu_pods}", *model_of_pod)
        memory = _as_model(
            f"{m.GPU_MEMORY_USED}{gpu_pods} / ({m.GPU_MEMORY_USED}{gpu_pods} + "
            f"{m.GPU_MEMORY_FREE}{gpu_pods})",
            *model_of_pod,
        )
        rules.append(
            _alert(
                "ModelGpuSaturated",
                f"(avg by (namespace, model) ({util}) > {o.gpu_util_percent}) or "
                f"(max by (namespace, model) ({memory}) > {o.gpu_memory_ratio})",
                group,
                "warning",
                "{{ $labels.model }}: GPU utilisation or memory over "
                f"{o.gpu_util_percent:g}% / {o.gpu_memory_ratio:.0%} for {o.gpu_saturated_for}",
                o.gpu_saturated_for,
            )
        )
    return rules


def rule_groups(
    models: Iterable[ModelDeclaration],
    objectives: Callable[[ModelDeclaration], Objectives] = objectives_for,
) -> dict[str, list[dict]]:
    """Rule groups per team (``""``: the platform's recording group), in rules-file shape."""
    by_team: dict[str, list[dict]] = {"": [recording_group()]}
    for group in alert_groups(models, objectives):
        by_team.setdefault(group.team, []).append(
            {"name": group.name, "rules": alerting_rules(group)}
        )
    return by_team
