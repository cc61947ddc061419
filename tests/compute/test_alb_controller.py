"""The AWS Load Balancer Controller: pinned, its documented policy byte for byte, that policy
passing the IAM action database check, its IRSA trust, and the access-log bucket policy."""

from __future__ import annotations

import hashlib
import json

import pytest

from components.alb_controller import (
    CHART_VERSION,
    CONTROLLER_VERSION,
    ELB_LOG_ACCOUNTS,
    HERE,
    LOG_DELIVERY_SERVICE,
    NAMESPACE,
    SERVICE_ACCOUNT,
    controller_policy,
    log_delivery_statements,
)
from components.iam_documents import render
from tests.data.test_iam_permissions import statement_problems

pytestmark = pytest.mark.slow

SOURCE = json.loads((HERE / "iam_policy.source.json").read_text())
RELEASE = "kubernetes:helm.sh/v3:Release"


def test_the_policy_file_is_the_pinned_releases_own():
    digest = hashlib.sha256((HERE / "iam_policy.json").read_bytes()).hexdigest()
    assert digest == SOURCE["sha256"]
    assert SOURCE["tag"] == CONTROLLER_VERSION == SOURCE["helmChart"]["appVersion"]
    assert SOURCE["helmChart"]["version"] == CHART_VERSION
    assert SOURCE["path"] == "docs/install/iam_policy.json"


def test_the_documented_policy_passes_the_iam_action_database_check():
    problems = [p for s in controller_policy()["Statement"] for p in statement_problems(s)]
    assert problems == []
    # And the check is live on this document: a misspelt action of it is refused.
    broken = dict(controller_policy()["Statement"][0])
    broken["Action"] = ["elasticloadbalancing:DescribeLoadBalancer"]
    assert statement_problems(broken)


def test_each_stack_installs_the_pinned_chart_with_the_documented_policy(plan):
    (release,) = [
        r for r in plan.of_type(RELEASE) if r["inputs"]["chart"] == "aws-load-balancer-controller"
    ]
    assert release["inputs"]["version"] == CHART_VERSION
    assert release["inputs"]["repositoryOpts"]["repo"] == SOURCE["helmChart"]["repository"]
    values = release["inputs"]["values"]
    assert values["ingressClassParams"]["spec"]["scheme"] == "internal"
    assert values["clusterName"] and values["vpcId"] and values["region"]
    role_arn = values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    (role,) = [r for r in plan.of_type("aws:iam/role:Role") if r["outputs"]["arn"] == role_arn]
    (policy,) = [
        p
        for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if p["inputs"]["role"] == role["outputs"]["id"]
    ]
    assert json.loads(policy["inputs"]["policy"]) == controller_policy()
    (trust,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    subjects = [v for k, v in trust["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subjects == [f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"]
    assert values["serviceAccount"]["name"] == SERVICE_ACCOUNT


@pytest.mark.parametrize("region", ["us-east-1", "ap-southeast-5"])
def test_log_delivery_may_write_only_this_accounts_logs(region):
    bucket = "arn:aws:s3:::logs"
    statements = json.loads(render(log_delivery_statements(bucket, region, "123456789012")))[
        "Statement"
    ]
    principals = [s["Principal"] for s in statements]
    # Regions from before August 2022 deliver as ELB's regional account, later ones as the
    # service principal; both are granted where the region has an account.
    assert {"Service": LOG_DELIVERY_SERVICE} in principals
    regional = [p for p in principals if "AWS" in p]
    account = ELB_LOG_ACCOUNTS.get(region)
    assert regional == ([{"AWS": f"arn:aws:iam::{account}:root"}] if account else [])
    assert all(s["Action"] == "s3:PutObject" for s in statements)
    assert all(s["Resource"] == f"{bucket}/*/AWSLogs/123456789012/*" for s in statements)


def test_the_log_bucket_uses_sse_s3_and_nothing_else_does(plan):
    """ALB access logs support SSE-S3 only; every other bucket keeps its customer key."""
    log_buckets = {
        p["inputs"]["bucket"]
        for p in plan.of_type("aws:s3/bucketPolicy:BucketPolicy")
        if LOG_DELIVERY_SERVICE in p["inputs"]["policy"]
    }
    assert len(log_buckets) == 1
    for sse in plan.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        algorithm = sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
        assert (algorithm == "AES256") == (sse["inputs"]["bucket"] in log_buckets)
