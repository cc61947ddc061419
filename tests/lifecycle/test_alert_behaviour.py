"""Alert behaviour on synthetic series, judged by Prometheus itself (``promtool test rules``).

The rules are generated for declared-looking models with the platform's objectives; the times
at which alerts must (not) fire are derived from those objectives, not copied from the rules.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import yaml

from lifecycle.monitoring import metrics as m
from lifecycle.monitoring.amp_namespaces import rules_file
from lifecycle.monitoring.objectives import PLATFORM_DEFAULTS as OBJECTIVES
from lifecycle.monitoring.prometheus_rules import rule_groups
from lifecycle.monitoring.synthetic import eks_model
from tests.lifecycle import promtool

TEAM = "growth"
MODELS = [
    eks_model("ranker", TEAM),
    eks_model("ranker-b", TEAM),
    eks_model("embedder", TEAM, gpus=1),
]
RANKER_POD = "ranker-7d9f8c6b5-x2x4z"  # <deployment>-<pod-template-hash>-<suffix>
RANKER_B_POD = "ranker-b-5f6d7c8b9-abcde"


def minutes(duration: str) -> int:
    value, unit = re.fullmatch(r"(\d+)([mh])", duration).groups()
    return int(value) * (60 if unit == "h" else 1)


def series(name: str, values: str, **labels: str) -> dict:
    selector = ", ".join(f'{key}="{value}"' for key, value in {"namespace": TEAM, **labels}.items())
    return {"series": f"{name}{{{selector}}}", "values": values}


def rule(name: str) -> dict:
    groups = rule_groups(MODELS)[TEAM]
    return next(r for group in groups for r in group["rules"] if r.get("alert") == name)


def alert(name: str, model: str, **extra: str) -> dict:
    """An expected firing alert: the model's labels, the rule's team and severity, and its
    annotations rendered for that model."""
    generated = rule(name)
    annotations = {
        key: text.replace("{{ $labels.model }}", model)
        for key, text in generated["annotations"].items()
    }
    labels = {"namespace": TEAM, "model": model, **generated["labels"], **extra}
    return {"exp_labels": labels, "exp_annotations": annotations}


def check(input_series: list[dict], expectations: list[tuple[int, str, list[dict]]]):
    """Run one promtool test case: ``expectations`` are (minute, alertname, firing alerts).

    In a private temporary directory: pytest prunes old ``tmp_path`` directories of the same
    user, which concurrent sessions on one machine would do under a running promtool."""
    with tempfile.TemporaryDirectory() as directory:
        _check(Path(directory), input_series, expectations)


def _check(directory: Path, input_series, expectations) -> None:
    (directory / "rules.yaml").write_text(
        rules_file(group for groups in rule_groups(MODELS).values() for group in groups)
    )
    case = {
        "interval": "1m",
        "input_series": input_series,
        "alert_rule_test": [
            {"eval_time": f"{minute}m", "alertname": name, "exp_alerts": firing}
            for minute, name, firing in expectations
        ],
    }
    tests = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [case]}
    (directory / "tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = promtool.run("test", "rules", directory / "tests.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_latency_alert_fires_after_the_declared_duration_over_the_objective_and_not_before():
    # One request a second. For 20 minutes all are faster than the objective (in the bucket up
    # to it); from then on all are slower (in the next bucket): p99 over a 5-minute rate crosses
    # the objective at the first evaluation whose window holds slow requests, minute 21.
    objective = OBJECTIVES.latency_p99_seconds
    slower = min(b for b in m.LATENCY_BUCKETS if b > objective)
    fast_then_flat = "0+60x20 1200+0x40"
    every_request = "0+60x60"
    buckets = [
        series(f"{m.REQUEST_DURATION}_bucket", fast_then_flat, model="ranker", le=str(objective)),
        series(f"{m.REQUEST_DURATION}_bucket", every_request, model="ranker", le=str(slower)),
        series(f"{m.REQUEST_DURATION}_bucket", every_request, model="ranker", le="+Inf"),
    ]
    crossing, held = 21, minutes(OBJECTIVES.latency_for)
    name = "ModelLatencyP99OverObjective"
    check(
        buckets,
        [
            (crossing - 1, name, []),
            (crossing + held - 1, name, []),  # over the objective, but not yet for long enough
            # The alert reads a recording rule of another group, which Prometheus evaluates
            # independently: the alert may see it one evaluation late, never early.
            (crossing + held + 1, name, [alert(name, "ranker")]),
        ],
    )


def test_error_ratio_alert_ignores_low_traffic_noise_but_fires_on_real_traffic():
    # ranker: one success and one error a minute (50% errors, 0.03 req/s: noise);
    # ranker-b: 57 successes and 3 errors a minute (5% errors at 1 req/s).
    responses = f"{m.RESPONSES}"
    inputs = [
        series(responses, "0+1x60", model="ranker", code="200"),
        series(responses, "0+1x60", model="ranker", code="500"),
        series(responses, "0+57x60", model="ranker-b", code="200"),
        series(responses, "0+3x60", model="ranker-b", code="503"),
    ]
    assert 2 / 60 < OBJECTIVES.min_requests_per_second <= 1
    assert OBJECTIVES.error_ratio < 0.05
    name = "ModelErrorRatioOverObjective"
    # rate() has two samples from minute 1 on; the alert then waits its duration.
    fired = 1 + minutes(OBJECTIVES.error_for)
    check(
        inputs,
        [
            (fired - 1, name, []),
            (fired + 1, name, [alert(name, "ranker-b")]),  # + 1: recorded one evaluation late
            (55, name, [alert(name, "ranker-b")]),
        ],
    )


def test_restart_alert_counts_the_model_container_of_each_models_pods():
    restarts = m.POD_RESTARTS
    limit = OBJECTIVES.restarts_in_15m
    inputs = [
        # ranker's server restarts once a minute: over the limit within a few minutes.
        series(restarts, "0+1x30", pod=RANKER_POD, container=m.SERVER_CONTAINER),
        # ranker-b: only its init container restarts, and its server restarts exactly the limit.
        series(restarts, "0+1x30", pod=RANKER_B_POD, container="fetch-model"),
        series(restarts, f"0+0x5 {limit}+0x25", pod=RANKER_B_POD, container=m.SERVER_CONTAINER),
    ]
    name = "ModelPodRestarting"
    firing = [alert(name, "ranker")]
    check(inputs, [(10, name, firing), (25, name, firing)])


def test_hpa_alert_fires_when_replicas_stay_at_the_maximum():
    hpa = {m.HPA_LABEL: "ranker"}
    hpa_b = {m.HPA_LABEL: "ranker-b"}
    inputs = [
        # ranker scales from 2 to its maximum of 4 at minute 10 and stays there;
        series(m.HPA_CURRENT, "2+0x9 4+0x50", **hpa),
        series(m.HPA_MAX, "4+0x60", **hpa),
        # ranker-b stays one below its maximum.
        series(m.HPA_CURRENT, "3+0x60", **hpa_b),
        series(m.HPA_MAX, "4+0x60", **hpa_b),
    ]
    name = "ModelReplicasAtHpaMaximum"
    fired = 10 + minutes(OBJECTIVES.hpa_at_max_for)
    check(
        inputs,
        [(fired - 1, name, []), (fired, name, [alert(name, "ranker", **hpa)])],
    )


def test_no_traffic_alert_fires_for_a_running_model_without_requests():
    inputs = [
        series(m.DEPLOYMENT_AVAILABLE, "2+0x60", deployment="ranker"),
        series(m.DEPLOYMENT_AVAILABLE, "2+0x60", deployment="ranker-b"),
        series(m.RESPONSES, "0+60x60", model="ranker-b", code="200"),
    ]
    name = "ModelNoTraffic"
    held = minutes(OBJECTIVES.no_traffic_for)
    check(inputs, [(held - 1, name, []), (held + 1, name, [alert(name, "ranker")])])


def test_gpu_alert_fires_only_for_gpu_models_over_the_utilisation_limit():
    gpu_pod = "embedder-6c7d8f9b4-q8w7e"
    busy = OBJECTIVES.gpu_util_percent + 5
    inputs = [
        series(m.GPU_UTIL, f"{busy}+0x40", pod=gpu_pod, container=m.SERVER_CONTAINER, gpu="0"),
        series(m.GPU_MEMORY_USED, "1000+0x40", pod=gpu_pod, container=m.SERVER_CONTAINER, gpu="0"),
        series(m.GPU_MEMORY_FREE, "20000+0x40", pod=gpu_pod, container=m.SERVER_CONTAINER, gpu="0"),
        # A CPU model's pod on a GPU node's exporter: it has no GPU rule.
        series(m.GPU_UTIL, f"{busy}+0x40", pod=RANKER_POD, container=m.SERVER_CONTAINER, gpu="1"),
    ]
    name = "ModelGpuSaturated"
    fired = minutes(OBJECTIVES.gpu_saturated_for)
    check(inputs, [(fired - 1, name, []), (fired + 1, name, [alert(name, "embedder")])])
