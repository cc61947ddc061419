"""Prometheus in the graph: what AMP, EKS, Prometheus's and Alertmanager's own checkers and the
Kubernetes schema say about the workspace, scraper, exporters and alert routing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from components.cluster import GPU_TAINT, node_pools
from components.monitoring import COLLECTOR_USER, eks_principal_arn, exporter_values
from infra.declarations.environment import AddonSettings
from lifecycle.monitoring import alertmanager, scrape_config, statsd_mapping
from lifecycle.monitoring.__main__ import stack_namespaces
from tests.compute.test_manifests import schema_version
from tests.lifecycle import promtool

pytestmark = pytest.mark.slow
WORKSPACE = "aws:amp/workspace:Workspace"
SCRAPER = "aws:amp/scraper:Scraper"


def test_the_workspace_is_encrypted_with_the_platform_key_and_logs(plan):
    workspace = plan.one(WORKSPACE)["inputs"]
    platform_key = plan.named("aws:kms/key:Key", f"mlplat-{plan.stack}-key")["outputs"]["arn"]
    assert workspace["kmsKeyArn"] == platform_key
    groups = {g["outputs"]["arn"] for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert workspace["loggingConfiguration"]["logGroupArn"].removesuffix(":*") in groups
    assert workspace["loggingConfiguration"]["logGroupArn"].endswith(":*")


def test_the_scraper_runs_in_the_private_subnets_and_writes_to_the_workspace(plan):
    scraper = plan.one(SCRAPER)["inputs"]
    private = {s["id"] for s in plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in s["urn"]}
    assert set(scraper["source"]["eks"]["subnetIds"]) == private
    assert scraper["destination"]["amp"]["workspaceArn"] == plan.one(WORKSPACE)["outputs"]["arn"]
    assert scraper["source"]["eks"]["clusterArn"].endswith(f":cluster/mlplat-{plan.stack}")


def test_the_scraper_reaches_the_api_as_the_collector_user(plan):
    scraper = plan.one(SCRAPER)["outputs"]
    (entry,) = [
        e["inputs"]
        for e in plan.of_type("aws:eks/accessEntry:AccessEntry")
        if e["inputs"].get("userName") == COLLECTOR_USER
    ]
    assert entry["principalArn"] == eks_principal_arn(scraper["roleArn"])
    assert "/aws-service-role/" not in entry["principalArn"]
    (binding,) = plan.kube("ClusterRoleBinding")
    assert binding["inputs"]["subjects"][0]["name"] == entry["userName"]


def test_eks_principal_arn_drops_only_the_service_linked_path():
    # The AMP user guide's own example.
    arn = (
        "arn:aws:iam::111122223333:role/aws-service-role/scraper.aps.amazonaws.com/"
        "AWSServiceRoleForAmazonPrometheusScraper_1234abcd-56ef-7"
    )
    assert eks_principal_arn(arn) == (
        "arn:aws:iam::111122223333:role/AWSServiceRoleForAmazonPrometheusScraper_1234abcd-56ef-7"
    )
    plain = "arn:aws:iam::111122223333:role/mlplat-dev-ci-deployer"
    assert eks_principal_arn(plain) == plain


def test_the_rule_namespaces_are_the_generated_ones(plan):
    deployed = {
        n["inputs"]["name"]: n["inputs"]["data"]
        for n in plan.of_type("aws:amp/ruleGroupNamespace:RuleGroupNamespace")
    }
    assert deployed == {n.name: n.data for n in stack_namespaces(plan.stack)}


def for_debian_promtool(config: dict) -> dict:
    """Debian builds Prometheus without Kubernetes service discovery (its promtool refuses
    ``kubernetes_sd_configs``): the same config with each discovery block as a static target, so
    everything else (global, jobs, relabelling) is checked by promtool; the discovery roles are
    checked against Prometheus's list below."""
    checked = json.loads(json.dumps(config))
    for job in checked["scrape_configs"]:
        for sd in job.pop("kubernetes_sd_configs"):
            assert sd["role"] in {"node", "pod", "service", "endpoints", "endpointslice", "ingress"}
        job["static_configs"] = [{"targets": ["localhost:9102"]}]
    return checked


def test_the_scrape_config_passes_promtool(tmp_path, plan):
    text = plan.one(SCRAPER)["inputs"]["scrapeConfiguration"]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(for_debian_promtool(yaml.safe_load(text))))
    result = promtool.run("check", "config", "--syntax-only", path)
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(text)
    interval = plan.spec.settings.monitoring.scrape_interval_seconds
    assert config["global"]["scrape_interval"] == f"{interval}s"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    (keep,) = [r for r in jobs["model-serving"]["relabel_configs"] if r.get("action") == "keep"]
    # The sidecar's port name (and the events gateway's); Prometheus anchors the regex.
    assert re.fullmatch(keep["regex"], statsd_mapping.METRICS_PORT_NAME)
    assert not re.fullmatch(keep["regex"], "http")
    targets = {
        r["target_label"] for r in jobs["model-serving"]["relabel_configs"] if "target_label" in r
    }
    assert {"namespace", "model"} <= targets


def test_promtool_refuses_a_broken_scrape_config(tmp_path):
    path = tmp_path / "prometheus.yml"
    broken = scrape_config.scrape_config(30)
    broken["scrape_configs"][0]["relabel_configs"][0]["action"] = "keeep"
    path.write_text(yaml.safe_dump(for_debian_promtool(broken)))
    assert promtool.run("check", "config", "--syntax-only", path).returncode != 0


def amtool() -> str:
    found = shutil.which("amtool")
    if not found:
        if __import__("os").environ.get("CI") == "true":
            pytest.fail("amtool not found: apt-get install prometheus-alertmanager")
        pytest.skip("amtool not found")
    return found


def check_alertmanager(tmp_path, definition: str) -> subprocess.CompletedProcess:
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_load(definition)["alertmanager_config"])
    return subprocess.run(
        [amtool(), "check-config", str(path)], capture_output=True, text=True, timeout=60
    )


def test_each_team_is_routed_to_its_own_topic_and_amtool_accepts_it(tmp_path, plan):
    definition = plan.one("aws:amp/alertManagerDefinition:AlertManagerDefinition")["inputs"]
    result = check_alertmanager(tmp_path, definition["definition"])
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(yaml.safe_load(definition["definition"])["alertmanager_config"])
    topics = {t["inputs"]["name"]: t["outputs"]["arn"] for t in plan.of_type("aws:sns/topic:Topic")}
    receivers = {r["name"]: r for r in config["receivers"]}
    routes = {tuple(r["matchers"]): r["receiver"] for r in config["route"]["routes"]}
    for team in plan.spec.teams:
        receiver = receivers[routes[(f'team="{team.name}"',)]]
        (sns,) = receiver["sns_configs"]
        assert sns["topic_arn"] == topics[f"mlplat-{plan.stack}-{team.name}-alerts"]
        assert sns["sigv4"]["region"] == plan.spec.settings.region


def test_amtool_refuses_a_route_to_a_missing_receiver(tmp_path):
    text = alertmanager.definition_text({"a": "arn:aws:sns:us-east-1:1:t"}, "arn:aws:sns:x", "r")
    broken = text.replace("receiver: team-a", "receiver: team-b")
    assert check_alertmanager(tmp_path, broken).returncode != 0


def test_team_topics_admit_amp_and_cloudwatch_from_this_account_only(plan):
    for policy in plan.of_type("aws:sns/topicPolicy:TopicPolicy"):
        document = json.loads(policy["inputs"]["policy"])
        services = {
            s["Principal"]["Service"] if isinstance(s["Principal"]["Service"], str) else None
            for s in document["Statement"]
        }
        if "aps.amazonaws.com" not in services:
            continue
        for statement in document["Statement"]:
            assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
        (amp,) = [
            s for s in document["Statement"] if s["Principal"]["Service"] == "aps.amazonaws.com"
        ]
        assert {"sns:Publish", "sns:GetTopicAttributes"} <= set(amp["Action"])


def test_exporters_are_pinned_releases_and_dcgm_runs_only_on_gpu_nodes(plan):
    releases = {
        r["inputs"]["name"]: r["inputs"]
        for r in plan.of_type("kubernetes:helm.sh/v3:Release")
        if r["inputs"]["namespace"] == scrape_config.MONITORING_NAMESPACE
    }
    assert set(releases) == set(scrape_config.EXPORTER_SERVICES)
    addons = plan.spec.settings.cluster.addons
    for name, (chart, version, repo, _) in exporter_values(addons).items():
        assert (releases[name]["chart"], releases[name]["version"]) == (chart, version)
        assert releases[name]["repositoryOpts"]["repo"] == repo
    dcgm = releases[scrape_config.DCGM_EXPORTER]["values"]
    (gpu_pool,) = [p for p in node_pools(plan.spec.settings.cluster) if GPU_TAINT in p.taints]
    assert dcgm["nodeSelector"].items() <= gpu_pool.labels.items()
    assert GPU_TAINT.toleration() in dcgm["tolerations"]


@pytest.mark.parametrize("release", scrape_config.EXPORTER_SERVICES)
def test_exporter_pod_settings_validate_against_the_kubernetes_schema(release):
    """The values that become pod fields (no chart schema ships for these charts here: they
    are fetched from the charts' repositories at deploy time) checked as the Pod they shape."""
    values = exporter_values(AddonSettings())[release][3]
    pod_fields = {k: values[k] for k in ("nodeSelector", "tolerations") if k in values}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": release},
        "spec": {"containers": [{"name": "exporter", "image": "x"}], **pod_fields},
    }
    kubernetes_validate.validate(pod, schema_version("1.35"), strict=True)


def test_a_misspelt_toleration_would_be_caught():
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "x"},
        "spec": {"containers": [{"name": "x", "image": "x"}], "tolerations": [{"keys": "a"}]},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, schema_version("1.35"), strict=True)
