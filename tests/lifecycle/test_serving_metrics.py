"""The serving metrics the alert rules read are really emitted: gunicorn (the real server, run
here) sends the statsD lines the sidecar's mapping turns into exactly those series, and every rule
selects only metrics something in the graph emits."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from components.eks_model import is_sklearn_served, pod_spec, sklearn_server_command
from lifecycle.monitoring import metrics as m
from lifecycle.monitoring import statsd_mapping
from lifecycle.monitoring.prometheus_rules import rule_groups
from lifecycle.monitoring.synthetic import eks_model, fleet
from tests.lifecycle.promql_names import selected_metrics

APP = """
def app(environ, start_response):
    code = "500 Internal Server Error" if environ["PATH_INFO"] == "/fail" else "200 OK"
    start_response(code, [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn_lines(tmp_path_factory) -> list[str]:
    """The statsD lines the real gunicorn sends, started with the server command's statsD flags,
    for two good requests and a failing one."""
    folder: Path = tmp_path_factory.mktemp("wsgi")
    (folder / "tiny_app.py").write_text(APP)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.2)
    flags = statsd_mapping.gunicorn_statsd_args()
    flags[flags.index("--statsd-host") + 1] = f"127.0.0.1:{receiver.getsockname()[1]}"
    http = free_port(socket.SOCK_STREAM)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{http}",
            *flags,
            "--chdir",
            str(folder),
            "tiny_app:app",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                for path in ("/", "/", "/fail"):
                    with contextlib.suppress(urllib.error.HTTPError):  # the 500
                        urllib.request.urlopen(f"http://127.0.0.1:{http}{path}", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        lines, deadline = [], time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                lines += receiver.recv(4096).decode().splitlines()
            except TimeoutError:
                if sum("request.status" in line for line in lines) >= 3:
                    break
        return lines
    finally:
        server.terminate()
        server.wait(10)
        receiver.close()


def glob_match(pattern: str, name: str) -> re.Match | None:
    """statsd_exporter's glob matching: ``*`` is one dot-separated component."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", "([^.]*)"), name)


def in_match_order(rules: list[dict]) -> list[dict]:
    """The exporter's order (v0.28.0 pkg/mapper/mapper.go, ``GetMapping``): every glob rule,
    matched as one state machine, before the regex rules, which are tried in their order."""
    regex = [rule for rule in rules if rule.get("match_type") == "regex"]
    return [rule for rule in rules if rule not in regex] + regex


def exported(lines: list[str], rules: list[dict] | None = None) -> dict[str, set[tuple]]:
    """What the sidecar exports for ``lines`` under the mapping: series name -> label sets, with
    the ``_bucket``/``_sum``/``_count`` series of a histogram."""
    rules = statsd_mapping.mapping()["mappings"] if rules is None else rules
    series: dict[str, set[tuple]] = {}
    for line in lines:
        name, rest = line.split(":", 1)
        kind = rest.split("|")[1]
        for rule in in_match_order(rules):
            if rule.get("match_type") == "regex":
                matched = re.search(rule["match"], name)
            else:
                matched = glob_match(rule["match"], name)
            if not matched:
                continue
            if rule.get("action") == "drop":
                break
            labels = tuple(
                (key, value.replace("$1", matched.group(1)))
                for key, value in rule.get("labels", {}).items()
            )
            if rule.get("observer_type") == "histogram":
                assert kind == "ms", f"{name}: a timer is converted from ms; got |{kind}"
                for suffix in ("_bucket", "_sum", "_count"):
                    series.setdefault(rule["name"] + suffix, set()).add(labels)
            else:
                assert kind == "c", line
                series.setdefault(rule["name"], set()).add(labels)
            break
        else:
            # No rule matched: the exporter still exports the line, under its name with every
            # character a metric name cannot hold as ``_`` (pkg/mapper/escape.go).
            series.setdefault(re.sub(r"[^a-zA-Z0-9_]", "_", name), set()).add(())
    return series


def test_glob_rules_are_matched_before_an_earlier_regex_rule():
    rules = statsd_mapping.mapping()["mappings"]
    drop_first = [rules[-1], *rules[:-1]]
    line = ["gunicorn.request.status.200:1|c|@1.0"]
    assert exported(line, drop_first) == exported(line) == {m.RESPONSES: {(("code", "200"),)}}


# What statsd_exporter v0.28.0 (commit c0a390a2c43f77863278615b47d46e886bdca726) accepts when it
# loads a mapping (pkg/mapper/mapper.go ``InitFromYAMLString``, mapping.go, action.go, match.go,
# observer.go). The file is read with yaml.v2's non-strict Unmarshal: a key ``MetricMapping``
# does not declare is dropped without a word, and the rule runs without it.
MAPPING_KEYS = {
    *("match", "name", "labels", "honor_labels", "observer_type", "timer_type", "buckets"),
    *("quantiles", "match_type", "help", "action", "match_metric_type", "ttl"),
    *("summary_options", "histogram_options", "scale"),
}
HISTOGRAM_OPTION_KEYS = {
    "buckets",
    "native_histogram_bucket_factor",
    "native_histogram_max_buckets",
}
CHOICES = {
    "action": {"map", "drop"},
    "match_type": {"glob", "regex"},
    "observer_type": {"histogram", "summary"},
}
_FIRST = r"[a-zA-Z_]([a-zA-Z0-9_\-])*"
_NEXT = r"[a-zA-Z0-9_]([a-zA-Z0-9_\-])*"
_TEMPLATE = r"(\$\{?\d+\}?)"
METRIC_LINE = re.compile(rf"^(\*|{_FIRST})(\.\*|\.{_NEXT})*$")
METRIC_NAME = re.compile(rf"^([a-zA-Z_]|{_TEMPLATE})([a-zA-Z0-9_]|{_TEMPLATE})*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]+$")


def load_problems(mapping: dict) -> list[str]:
    """Why the pinned exporter would refuse ``mapping``, or silently run without part of it."""
    problems = [f"unread top-level key {k}" for k in mapping if k not in {"defaults", "mappings"}]
    for index, rule in enumerate(mapping["mappings"]):
        where = f"mappings[{index}]"
        problems += [f"{where}: unread key {key}" for key in set(rule) - MAPPING_KEYS]
        options = rule.get("histogram_options", {})
        problems += [
            f"{where}: unread histogram option {k}" for k in options.keys() - HISTOGRAM_OPTION_KEYS
        ]
        problems += [
            f"{where}: {key} {rule[key]!r}"
            for key, allowed in CHOICES.items()
            if key in rule and rule[key] not in allowed
        ]
        if not METRIC_NAME.match(rule.get("name", "")):
            problems.append(f"{where}: metric name {rule.get('name')!r}")
        problems += [
            f"{where}: label {k}" for k in rule.get("labels", {}) if not LABEL_NAME.match(k)
        ]
        if rule.get("match_type", "glob") == "glob" and not METRIC_LINE.match(rule["match"]):
            problems.append(f"{where}: glob {rule['match']!r}")
    return problems


def test_the_mapping_is_one_the_pinned_exporter_loads_whole():
    assert statsd_mapping.STATSD_EXPORTER_IMAGE.endswith(":v0.28.0")  # what the rules above are
    assert load_problems(statsd_mapping.mapping()) == []


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda r: r[0].update(histogram_option=r[0].pop("histogram_options")), "unread key"),
        (lambda r: r[0]["histogram_options"].update(bucket=[1]), "unread histogram option"),
        (lambda r: r[0].update(observer_type="timer"), "observer_type 'timer'"),
        (lambda r: r[1].update(labels={"c": "$1"}), "label c"),
        (lambda r: r[1].update(name="mlplat-responses"), "metric name"),
        (lambda r: r[1].update(match="gunicorn..status.*"), "glob"),
        (lambda r: r[2].update(action="discard"), "action 'discard'"),
    ],
)
def test_a_mapping_the_exporter_would_refuse_or_misread_is_caught(edit, problem):
    mapping = statsd_mapping.mapping()
    edit(mapping["mappings"])
    problems = load_problems(mapping)
    assert any(problem in p for p in problems), problems


def test_gunicorn_emits_what_the_mapping_turns_into_the_serving_series(gunicorn_lines):
    series = exported(gunicorn_lines)
    assert set(series) == set(m.EMITTED["statsd_exporter sidecar"])
    assert series[m.RESPONSES] == {(("code", "200"),), (("code", "500"),)}


def test_unmapped_statsd_lines_are_dropped(gunicorn_lines):
    assert any(line.startswith("gunicorn.requests:") for line in gunicorn_lines)
    assert not set(exported(["gunicorn.requests:1|c|@1.0", "gunicorn.workers:2|g"]))


def test_every_rule_selects_only_emitted_metrics():
    emitted = {name for names in m.EMITTED.values() for name in names}
    groups = rule_groups(fleet(40, teams=3, gpu_every=5))
    selected = set()
    for groups_of_team in groups.values():
        for group in groups_of_team:
            for rule in group["rules"]:
                selected |= selected_metrics(rule["expr"])
    assert selected, "no metric found in the rules"
    assert selected <= emitted, selected - emitted


def test_the_name_walker_finds_a_metric_nobody_emits():
    assert selected_metrics('sum(rate(nobody_emits_this{a="b"}[5m])) > on (x) up') == {
        "nobody_emits_this",
        "up",
    }


def test_sklearn_pods_send_statsd_to_their_metrics_sidecar():
    model = eks_model("ranker")
    assert is_sklearn_served(model)
    command = sklearn_server_command(model)
    host = command[command.index("--statsd-host") + 1]
    spec = pod_spec(model, image="img:1", service_account="ranker", archive_uri="s3://b/k")
    (sidecar,) = [
        c for c in spec["containers"] if c["image"] == statsd_mapping.STATSD_EXPORTER_IMAGE
    ]
    udp = {p["containerPort"] for p in sidecar["ports"] if p["protocol"] == "UDP"}
    assert host == f"localhost:{next(iter(udp))}"
    assert any(p["name"] == statsd_mapping.METRICS_PORT_NAME for p in sidecar["ports"])
    volumes = {v["name"]: v for v in spec["volumes"]}
    for mount in sidecar["volumeMounts"]:
        assert volumes[mount["name"]]["configMap"]["name"] == statsd_mapping.MAPPING_CONFIGMAP
    assert sidecar["securityContext"]["readOnlyRootFilesystem"] is True
