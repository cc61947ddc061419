"""What the generated monitoring configurations do, judged in process the way their readers
read them: Alertmanager's routing of an alert to a team's topic, Prometheus's relabelling of a
discovered target into the series' labels, and the statsD sidecar as Kubernetes runs it.

The stack previews (``tests/compute/test_monitoring.py``) check the same objects as deployed;
these need no engine, so they also run where the engine is skipped (the mutation runs)."""

from __future__ import annotations

import re

import pytest
import yaml

from components.eks_model import pod_spec, sklearn_server_command
from lifecycle.events import gateway as events_gateway
from lifecycle.monitoring import alertmanager, scrape_config, statsd_mapping
from lifecycle.monitoring.synthetic import eks_model
from tests.compute.test_monitoring import amtool, check_alertmanager, for_debian_promtool
from tests.lifecycle import promtool

TOPICS = {
    # ``fraud`` and ``fraud-ops``: one team's name the prefix of another's.
    "fraud": "arn:aws:sns:eu-west-1:123456789012:mlplat-dev-fraud-alerts",
    "fraud-ops": "arn:aws:sns:eu-west-1:123456789012:mlplat-dev-fraud-ops-alerts",
    "growth": "arn:aws:sns:eu-west-1:123456789012:mlplat-dev-growth-alerts",
}
PLATFORM_TOPIC = "arn:aws:sns:eu-west-1:123456789012:mlplat-dev-platform-alerts"
REGION = "eu-west-1"
MATCHER = re.compile(r'^(\w+)(=~|!~|!=|=)"(.*)"$')


def _matches(matcher: str, labels: dict[str, str]) -> bool:
    """One Alertmanager matcher (``label="value"`` and its three other operators); a label the
    alert lacks is the empty string (Alertmanager docs, "Configuration", ``<matcher>``)."""
    name, operator, value = MATCHER.match(matcher).groups()
    actual = labels.get(name, "")
    if operator in ("=~", "!~"):
        found = re.fullmatch(value, actual) is not None
        return found if operator == "=~" else not found
    return (actual == value) if operator == "=" else (actual != value)


def routed_topics(config: dict, labels: dict[str, str]) -> list[dict]:
    """The SNS configurations an alert with ``labels`` is sent to: the first child route whose
    matchers all match (``continue`` unset: routing stops there), else the root's receiver."""
    route = config["route"]
    receiver = route["receiver"]
    for child in route.get("routes", []):
        assert not child.get("continue"), child
        if all(_matches(matcher, labels) for matcher in child["matchers"]):
            receiver = child["receiver"]
            break
    (found,) = [r for r in config["receivers"] if r["name"] == receiver]
    return found["sns_configs"]


def sns(topic: str) -> list[dict]:
    """What AMP's alert manager needs to publish: the topic, signed in the workspace's region."""
    return [{"topic_arn": topic, "sigv4": {"region": REGION}}]


def deployed_config() -> dict:
    """The configuration as AMP reads it: the definition's ``alertmanager_config`` string."""
    text = alertmanager.definition_text(TOPICS, PLATFORM_TOPIC, REGION)
    (key,) = yaml.safe_load(text)
    assert key == "alertmanager_config"
    return yaml.safe_load(yaml.safe_load(text)[key])


def test_each_teams_alert_goes_to_its_own_topic_and_no_other():
    config = deployed_config()
    for team, topic in TOPICS.items():
        labels = {"team": team, "alertname": "ModelNoTraffic", "model": "ranker"}
        assert routed_topics(config, labels) == sns(topic), team


@pytest.mark.parametrize("labels", [{"alertname": "Watchdog"}, {"team": "nobody", "model": "x"}])
def test_an_alert_of_no_known_team_goes_to_the_platform_topic(labels):
    assert routed_topics(deployed_config(), labels) == sns(PLATFORM_TOPIC)


def test_the_definition_carries_the_configuration_the_generator_builds():
    assert deployed_config() == alertmanager.alertmanager_config(TOPICS, PLATFORM_TOPIC, REGION)


def test_alerts_are_grouped_per_team_alert_and_model():
    """One notification group per model and alert: AMP caps an aggregation group at 1,000
    alerts (AMP_quotas.html), and a team's topic never receives another team's group."""
    route = deployed_config()["route"]
    assert set(route["group_by"]) == {"team", "alertname", "model"}


def test_amtool_accepts_the_generated_definition(tmp_path):
    amtool()
    text = alertmanager.definition_text(TOPICS, PLATFORM_TOPIC, REGION)
    result = check_alertmanager(tmp_path, text)
    assert result.returncode == 0, result.stdout + result.stderr


# Prometheus's relabelling (prometheus/model/relabel/relabel.go), the parts the jobs use: the
# source labels joined by ``;``, the regex anchored at both ends, ``keep`` dropping a target
# whose value does not match, ``replace`` (the default) writing ``$1`` to the target label. The
# action is read case-insensitively (``UnmarshalYAML`` lowercases it). Labels starting ``__``
# are dropped once relabelling is done.
def relabelled(job: dict, meta: dict[str, str]) -> dict[str, str] | None:
    labels = dict(meta)
    for rule in job["relabel_configs"]:
        value = ";".join(labels.get(name, "") for name in rule["source_labels"])
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        action = rule.get("action", "replace").lower()
        if action == "keep":
            if not match:
                return None
        elif action == "replace":
            if match:
                labels[rule["target_label"]] = match.expand(
                    rule.get("replacement", "$1").replace("$1", r"\1")
                )
        else:
            raise AssertionError(f"relabel action {action!r} not modelled here")
    return {k: v for k, v in labels.items() if not k.startswith("__")}


def label_name(kubernetes_label: str) -> str:
    """Kubernetes service discovery's ``__meta_kubernetes_pod_label_<name>``: the label name
    with every character outside ``[a-zA-Z0-9_]`` as ``_`` (Prometheus docs, kubernetes_sd)."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", kubernetes_label)


def pod_targets(namespace: str, pod: str, model: str, spec: dict) -> list[dict[str, str]]:
    """What the ``pod`` role discovers: one target per declared container port."""
    return [
        {
            "__meta_kubernetes_namespace": namespace,
            "__meta_kubernetes_pod_name": pod,
            "__meta_kubernetes_pod_container_name": container["name"],
            "__meta_kubernetes_pod_container_port_name": port.get("name", ""),
            "__meta_kubernetes_pod_container_port_number": str(port["containerPort"]),
            f"__meta_kubernetes_pod_label_{label_name('mlplat.io/model')}": model,
        }
        for container in spec["containers"]
        for port in container.get("ports", [])
    ]


def jobs(interval: int = 30) -> dict[str, dict]:
    text = scrape_config.scrape_config_text(interval)
    return {job["job_name"]: job for job in yaml.safe_load(text)["scrape_configs"]}


def test_the_serving_job_scrapes_each_models_sidecar_as_its_team_model_and_pod():
    model = eks_model("ranker", team="growth")
    spec = pod_spec(model, image="img:1", service_account="ranker", archive_uri="s3://b/k")
    pod = "ranker-7d9f8c6b5-x2x4z"
    kept = []
    for target in pod_targets("growth", pod, model.name, spec):
        labels = relabelled(jobs()["model-serving"], target)
        if labels is not None:
            kept.append((target["__meta_kubernetes_pod_container_port_name"], labels))
    assert kept == [
        (statsd_mapping.METRICS_PORT_NAME, {"namespace": "growth", "model": "ranker", "pod": pod})
    ]


def test_the_serving_job_keeps_the_events_gateways_metrics_port_and_no_other():
    job = jobs()["model-serving"]
    for port, kept in [
        (events_gateway.METRICS_PORT_NAME, True),
        (statsd_mapping.METRICS_PORT_NAME, True),
        ("http", False),
        ("statsd", False),
        ("metrics-2", False),  # anchored: a name that only starts like the port's
    ]:
        target = {
            "__meta_kubernetes_namespace": "fraud",
            "__meta_kubernetes_pod_name": "scorer-1-2",
            "__meta_kubernetes_pod_container_port_name": port,
        }
        assert (relabelled(job, target) is not None) is kept, port


@pytest.mark.parametrize("service", scrape_config.EXPORTER_SERVICES)
def test_an_exporter_job_keeps_only_its_own_service_in_the_monitoring_namespace(service):
    job = jobs()[service]
    assert job["kubernetes_sd_configs"] == [{"role": "endpoints"}]

    def kept(namespace: str, name: str) -> bool:
        target = {
            "__meta_kubernetes_namespace": namespace,
            "__meta_kubernetes_service_name": name,
        }
        return relabelled(job, target) is not None

    assert kept(scrape_config.MONITORING_NAMESPACE, service)
    assert not kept("growth", service)  # a team's Service of the same name
    others = set(scrape_config.EXPORTER_SERVICES) - {service}
    assert not any(kept(scrape_config.MONITORING_NAMESPACE, other) for other in others)


@pytest.mark.parametrize("service", scrape_config.EXPORTER_SERVICES)
def test_an_exporters_target_adds_no_namespace_or_pod_of_its_own(service):
    """kube-state-metrics reports a model pod's restarts with that pod's ``namespace`` and
    ``pod``, which the alert rules select by: the exporter's target must not bring its own."""
    target = relabelled(
        jobs()[service],
        {
            "__meta_kubernetes_namespace": scrape_config.MONITORING_NAMESPACE,
            "__meta_kubernetes_service_name": service,
            "__meta_kubernetes_pod_name": f"{service}-0",
        },
    )
    assert target is not None and not {"namespace", "pod", "container"} & set(target)


def test_every_target_is_scraped_at_the_interval_configured():
    for interval in (10, 60):
        config = yaml.safe_load(scrape_config.scrape_config_text(interval))
        assert config["global"] == {"scrape_interval": f"{interval}s"}
        assert all("scrape_interval" not in job for job in config["scrape_configs"])


def test_promtool_accepts_the_generated_scrape_config(tmp_path):
    path = tmp_path / "prometheus.yml"
    config = yaml.safe_load(scrape_config.scrape_config_text(30))
    path.write_text(yaml.safe_dump(for_debian_promtool(config)))
    result = promtool.run("check", "config", "--syntax-only", path)
    assert result.returncode == 0, result.stdout + result.stderr


# statsd_exporter v0.28.0's flags (its README, "Usage": ``statsd_exporter --help``), the ones a
# deployment may set; an unknown flag stops the exporter at start.
STATSD_EXPORTER_FLAGS = {
    *("--web.listen-address", "--web.telemetry-path", "--web.enable-lifecycle"),
    *("--web.config.file", "--statsd.listen-udp", "--statsd.listen-tcp"),
    *("--statsd.listen-unixgram", "--statsd.unixsocket-mode", "--statsd.mapping-config"),
    *("--statsd.read-buffer", "--statsd.cache-size", "--statsd.cache-type"),
    *("--statsd.event-queue-size", "--statsd.event-flush-threshold"),
    *("--statsd.event-flush-interval", "--statsd.parse-dogstatsd-tags"),
    *("--statsd.parse-influxdb-tags", "--statsd.parse-librato-tags"),
    *("--statsd.parse-signalfx-tags", "--statsd.relay.address", "--statsd.relay.packet-length"),
    *("--statsd.udp-packet-queue-size", "--debug.dump-fsm", "--check-config"),
    *("--log.level", "--log.format"),
}
# Kubernetes names (API conventions; validation in apimachinery): a container's name is a DNS
# label, a port's an IANA service name (at most 15 characters, lower case, a letter at least).
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
IANA_SVC_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# A Kubernetes quantity with a binary or decimal suffix (apimachinery resource.Quantity); the
# suffixes are case-sensitive: ``Mi`` is mebibytes, ``mi`` is no quantity.
QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|m|k|M|G|T)?$")
SUFFIX = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
SUFFIX |= {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(text: str) -> float:
    match = QUANTITY.match(text)
    assert match, f"{text!r} is no Kubernetes quantity"
    return float(match.group(1)) * SUFFIX[match.group(2)]


def sidecar_and_spec() -> tuple[dict, dict]:
    model = eks_model("ranker")
    spec = pod_spec(model, image="img:1", service_account="ranker", archive_uri="s3://b/k")
    (sidecar,) = [
        c for c in spec["containers"] if c["image"] == statsd_mapping.STATSD_EXPORTER_IMAGE
    ]
    return sidecar, spec


def flags(container: dict) -> dict[str, str]:
    pairs = [arg.split("=", 1) for arg in container["args"]]
    assert all(len(pair) == 2 for pair in pairs), container["args"]
    return dict(pairs)


def test_the_sidecar_is_started_with_flags_its_exporter_knows():
    sidecar, _ = sidecar_and_spec()
    assert set(flags(sidecar)) <= STATSD_EXPORTER_FLAGS, set(flags(sidecar)) - STATSD_EXPORTER_FLAGS


def test_the_sidecar_listens_where_gunicorn_sends_and_serves_where_it_is_scraped():
    sidecar, _ = sidecar_and_spec()
    given = flags(sidecar)
    ports = {(p["protocol"], p["containerPort"]): p["name"] for p in sidecar["ports"]}
    udp = int(given["--statsd.listen-udp"].rsplit(":", 1)[1])
    assert ("UDP", udp) in ports
    command = sklearn_server_command(eks_model("ranker"))
    assert command[command.index("--statsd-host") + 1] == f"localhost:{udp}"
    web = int(given["--web.listen-address"].rsplit(":", 1)[1])
    assert ports[("TCP", web)] == statsd_mapping.METRICS_PORT_NAME
    # gunicorn sends UDP only: no TCP statsD listener (an empty address turns it off).
    assert given["--statsd.listen-tcp"] == ""
    assert len(ports) == len(sidecar["ports"]) == 2


def test_the_sidecar_reads_the_mapping_from_its_read_only_configmap_volume():
    sidecar, spec = sidecar_and_spec()
    path = flags(sidecar)["--statsd.mapping-config"]
    (mount,) = [m for m in sidecar["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
    assert mount["readOnly"] is True
    assert path.removeprefix(mount["mountPath"] + "/") == statsd_mapping.MAPPING_FILE
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == statsd_mapping.MAPPING_CONFIGMAP
    assert all(m["readOnly"] is True for m in sidecar["volumeMounts"])


def test_the_sidecar_is_ready_when_the_path_prometheus_scrapes_answers():
    """The scrape jobs keep Prometheus's default ``metrics_path``, ``/metrics``."""
    sidecar, _ = sidecar_and_spec()
    assert all("metrics_path" not in job for job in jobs().values())
    probe = sidecar["readinessProbe"]["httpGet"]
    assert probe["path"] == "/metrics"
    assert probe["port"] in {p["name"] for p in sidecar["ports"]}


def test_the_sidecars_names_are_valid_kubernetes_names_unique_in_the_pod():
    sidecar, spec = sidecar_and_spec()
    assert DNS_LABEL.match(sidecar["name"])
    names = [c["name"] for c in spec["containers"] + spec["initContainers"]]
    assert len(names) == len(set(names))
    ports = [p["name"] for c in spec["containers"] for p in c["ports"]]
    assert len(ports) == len(set(ports))
    for name in ports:
        assert IANA_SVC_NAME.match(name) and len(name) <= 15, name
    assert {p["protocol"] for p in sidecar["ports"]} <= {"TCP", "UDP", "SCTP"}


def test_the_sidecar_asks_for_a_small_share_within_its_limits():
    """Kubernetes refuses a request over its limit; the sidecar only relays counters, so it
    asks for less than the model server it measures."""
    sidecar, spec = sidecar_and_spec()
    (server,) = [c for c in spec["containers"] if c["name"] == "model"]
    resources = sidecar["resources"]
    assert set(resources) == {"requests", "limits"}
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    for name in ("cpu", "memory"):
        request = quantity(resources["requests"][name])
        limit = quantity(resources["limits"][name])
        assert 0 < request <= limit, name
        assert limit <= quantity(server["resources"]["limits"][name]), name


def test_the_mapping_file_is_the_mapping():
    assert yaml.safe_load(statsd_mapping.mapping_text()) == statsd_mapping.mapping()
