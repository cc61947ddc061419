"""What the batch and Kafka identities can reach, evaluated as IAM would on the stacks' exports:
each producer only its team's topic, each sink only its topic and its team's events prefix, each
batch job role only its input, output and model archive; and EMR's service accounts of the
job's namespace only may assume its role."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest

from components.batch import base36, job_role_name
from infra.loader import load_environment, read_stack_config
from tests.data.conftest import resources
from tests.layers.test_team_deployer import allowed

STACK = "staging"  # Kafka on, and a model with a batch job


def _policies(export: dict, suffix: str) -> dict[str, dict]:
    return {
        r["urn"].rsplit("::", 1)[-1]: json.loads(r["inputs"]["policy"])
        for r in resources(export, "aws:iam/rolePolicy:RolePolicy")
        if r["urn"].endswith(suffix)
    }


def _topics(export: dict) -> dict[str, str]:
    """Topic name -> ARN."""
    return {
        r["inputs"]["name"]: r["outputs"]["arn"] for r in resources(export, "aws:msk/topic:Topic")
    }


@pytest.fixture(scope="module")
def staging(exports):
    return exports[STACK]


@pytest.fixture(scope="module")
def spec():
    return load_environment(STACK, read_stack_config(STACK))


def _pod_roles(export: dict) -> dict[str, tuple[dict, list[dict]]]:
    """Model -> (its pod spec, the policies of the role its service account's IRSA annotation
    names): the role the pod's containers, the events gateway among them, really act as."""
    accounts = {
        (r["inputs"]["metadata"]["namespace"], r["inputs"]["metadata"]["name"]): r["inputs"][
            "metadata"
        ]["annotations"]["eks.amazonaws.com/role-arn"]
        for r in resources(export, "kubernetes:core/v1:ServiceAccount")
        if "eks.amazonaws.com/role-arn" in (r["inputs"]["metadata"].get("annotations") or {})
    }
    roles = {r["outputs"]["arn"]: r["id"] for r in resources(export, "aws:iam/role:Role")}
    policies: dict[str, list[dict]] = {}
    for r in resources(export, "aws:iam/rolePolicy:RolePolicy"):
        policies.setdefault(r["inputs"]["role"], []).append(json.loads(r["inputs"]["policy"]))
    found = {}
    for deployment in resources(export, "kubernetes:apps/v1:Deployment"):
        metadata, pod = deployment["inputs"]["metadata"], deployment["inputs"]["spec"]["template"]
        role = accounts[(metadata["namespace"], pod["spec"]["serviceAccountName"])]
        found[metadata["name"]] = (pod["spec"], policies.get(roles[role], []))
    return found


def _allowed_by_any(policies: list[dict], action: str, arn: str) -> bool:
    return any(allowed(policy, action, arn, {}) for policy in policies)


def test_each_publishing_pod_writes_to_its_teams_topic_and_to_no_other(staging, spec):
    topics = _topics(staging)
    pods = _pod_roles(staging)
    eks = [m for m in spec.models if m.serving == "eks"]
    publishing = [m for m in eks if m.events]
    assert publishing and len(topics) == len(spec.teams) > 1
    for model in eks:
        pod, policies = pods[model.name]
        gateway = [c for c in pod["containers"] if c["name"] == "events"]
        assert bool(gateway) is bool(model.events), model.name
        own = topics[f"mlplat.{STACK}.predictions.{model.team}"]
        if gateway:  # it publishes where its role may write
            env = {e["name"]: e["value"] for e in gateway[0]["env"]}
            assert topics[env["MLPLAT_EVENTS_TOPIC"]] == own
        for name, arn in topics.items():
            mine = bool(model.events) and arn == own
            assert _allowed_by_any(policies, "kafka-cluster:WriteData", arn) is mine, name
            assert _allowed_by_any(policies, "kafka-cluster:DescribeTopic", arn) is mine, name
            for action in ("ReadData", "CreateTopic", "DeleteTopic", "AlterTopic"):
                assert not _allowed_by_any(policies, f"kafka-cluster:{action}", arn)


def test_each_sink_reads_its_topic_and_writes_its_teams_events_only(staging, spec):
    topics = _topics(staging)
    bucket = next(
        r["outputs"]["arn"]
        for r in resources(staging)
        if r["type"] in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
        and "capture" in r["urn"].rsplit("::", 1)[-1]
    )
    sinks = _policies(staging, "-sink-access")
    assert len(sinks) == len(spec.teams)
    for team in (t.name for t in spec.teams):
        policy = sinks[f"mlplat-{STACK}-events-{team}-sink-access"]
        for name, arn in topics.items():
            assert allowed(policy, "kafka-cluster:ReadData", arn, {}) is name.endswith(f".{team}")
            assert not allowed(policy, "kafka-cluster:WriteData", arn, {})
        for other in (t.name for t in spec.teams):
            key = f"{bucket}/capture/events/teams/{other}/m/events/2026/11/30/17/f.jsonl"
            assert allowed(policy, "s3:PutObject", key, {}) is (other == team)
        assert not allowed(policy, "s3:PutObject", f"{bucket}/capture/teams/{team}/x", {})
        assert not allowed(policy, "s3:GetObject", f"{bucket}/capture/events/teams/{team}/x", {})


def _job_roles(export: dict) -> dict[str, dict]:
    return {
        r["inputs"]["name"]: r
        for r in resources(export, "aws:iam/role:Role")
        if "emr-containers-sa-" in (r["inputs"].get("assumeRolePolicy") or "")
    }


def test_each_job_role_reaches_its_input_output_and_archive_only(staging, spec):
    roles = _job_roles(staging)
    jobs = [(m, j) for m in spec.models for j in m.batch]
    assert len(roles) == len(jobs) > 0
    policies = _policies(staging, "-access")
    for model, job in jobs:
        role_name = job_role_name(STACK, model.team, model.name, job.name)
        policy = policies[f"mlplat-{STACK}-{model.team}-batch-{model.name}-{job.name}-access"]
        request = json.loads(
            next(
                r
                for r in resources(staging, "aws:scheduler/schedule:Schedule")
                if r["inputs"]["name"] == f"{model.name}-{job.name}"
            )["inputs"]["target"]["input"]
        )
        assert request["ExecutionRoleArn"].endswith(f":role/{role_name}")
        arguments = request["JobDriver"]["SparkSubmitJobDriver"]["EntryPointArguments"]
        archive = arguments[arguments.index("--archive") + 1].removeprefix("s3://")
        in_bucket, in_prefix = job.input.s3.removeprefix("s3://").split("/", 1)
        out_bucket, out_prefix = job.output.removeprefix("s3://").split("/", 1)
        s3 = "arn:aws:s3:::"
        assert allowed(policy, "s3:GetObject", f"{s3}{in_bucket}/{in_prefix}part-0.parquet", {})
        assert not allowed(policy, "s3:GetObject", f"{s3}{in_bucket}/elsewhere/x.parquet", {})
        assert not allowed(policy, "s3:PutObject", f"{s3}{in_bucket}/{in_prefix}x", {})
        assert allowed(policy, "s3:PutObject", f"{s3}{out_bucket}/{out_prefix}run_id=1/x", {})
        assert allowed(policy, "s3:DeleteObject", f"{s3}{out_bucket}/{out_prefix}run_id=1/x", {})
        assert not allowed(policy, "s3:PutObject", f"{s3}{out_bucket}/other/x", {})
        assert allowed(policy, "s3:GetObject", f"{s3}{archive}", {})
        # Another archive of the team (or of another team) is not readable.
        folder = archive.rsplit("/", 1)[0]
        assert not allowed(policy, "s3:GetObject", f"{s3}{folder}/other-model-v1.tar.gz", {})
        listing = {"s3:prefix": in_prefix}
        assert allowed(policy, "s3:ListBucket", f"{s3}{in_bucket}", listing)
        assert not allowed(policy, "s3:ListBucket", f"{s3}{in_bucket}", {"s3:prefix": "other/"})
        assert not allowed(policy, "s3:ListBucket", f"{s3}{in_bucket}", {})


def test_only_emr_service_accounts_of_the_jobs_namespace_assume_its_role(staging):
    for name, role in _job_roles(staging).items():
        trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
        ((sub_key, pattern),) = trust["Condition"]["StringLike"].items()
        assert sub_key.endswith(":sub")
        account = role["outputs"]["arn"].split(":")[4]
        namespace = pattern.split(":")[2]
        emr = f"emr-containers-sa-spark-driver-{account}-{base36(name)}"
        assert fnmatchcase(f"system:serviceaccount:{namespace}:{emr}", pattern)
        assert not fnmatchcase(f"system:serviceaccount:growth:{emr}", pattern)
        other = f"emr-containers-sa-spark-driver-{account}-{base36(name + 'x')}"
        assert not fnmatchcase(f"system:serviceaccount:{namespace}:{other}", pattern)
        assert trust["Condition"]["StringEquals"] == {sub_key[:-3] + "aud": "sts.amazonaws.com"}


def test_base36_is_the_aws_clis_encoding():
    # Each character is a base-256 digit of one number, written in base 36 (0-9a-z).
    assert base36("a") == "2p"  # 97 = 2 * 36 + 25
    assert base36("ab") == "j8i"  # 97 * 256 + 98 = 24930 = 19 * 36^2 + 8 * 36 + 18
    assert base36("") == "0"
