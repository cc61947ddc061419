"""The deploy runner: a CodeBuild-hosted GitHub Actions runner inside each stack's VPC, which
reaches the cluster's API and may do nothing but run builds."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest

from components.deploy_runner import WORKFLOW_JOB_QUEUED, runner_label, runner_project_name
from infra.declarations import SpecError
from infra.loader import load_environment, read_stack_config

pytestmark = pytest.mark.slow

PROJECT = "aws:codebuild/project:Project"


def runner(plan) -> dict:
    return plan.named(PROJECT, f"mlplat-{plan.stack}-deploy-runner-project")


def test_every_stack_whose_api_github_cannot_reach_has_a_runner(plan):
    cluster = plan.one("eks:index:Cluster")["inputs"]
    reachable_from_anywhere = cluster["endpointPublicAccess"] and "0.0.0.0/0" in cluster.get(
        "publicAccessCidrs", []
    )
    assert not reachable_from_anywhere  # so every shipped stack needs its runner
    project = runner(plan)["inputs"]
    assert project["name"] == runner_project_name(plan.stack)
    assert project["source"]["type"] == "GITHUB"
    repository = plan.spec.settings.ci.github_repository
    assert project["source"]["location"] == f"https://github.com/{repository}.git"
    assert project["source"]["auth"] == {
        "type": "CODECONNECTIONS",
        "resource": plan.spec.settings.ci.deploy_runner_connection_arn,
    }
    (webhook,) = plan.of_type("aws:codebuild/webhook:Webhook")
    assert webhook["inputs"]["projectName"] == project["name"]
    (group,) = webhook["inputs"]["filterGroups"]
    assert {"type": "EVENT", "pattern": WORKFLOW_JOB_QUEUED} in group["filters"]


def test_the_runner_builds_in_the_private_subnets_and_reaches_the_api(plan):
    vpc = runner(plan)["inputs"]["vpcConfig"]
    private = {s["id"] for s in plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in s["urn"]}
    assert set(vpc["subnets"]) == private
    (group_id,) = vpc["securityGroupIds"]
    cluster_sg = plan.one("eks:index:Cluster")["outputs"]["clusterSecurityGroupId"]
    rules = [
        r["inputs"]
        for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["inputs"].get("referencedSecurityGroupId") == group_id
    ]
    assert {(r["securityGroupId"], r["fromPort"], r["toPort"]) for r in rules} == {
        (cluster_sg, 443, 443)
    }
    group = next(
        g for g in plan.of_type("aws:ec2/securityGroup:SecurityGroup") if g["id"] == group_id
    )
    assert [(e["fromPort"], e["toPort"]) for e in group["inputs"]["egress"]] == [(443, 443)]


def test_the_runner_role_may_only_run_builds(plan):
    role_arn = runner(plan)["inputs"]["serviceRole"]
    role = next(r for r in plan.of_type("aws:iam/role:Role") if r["outputs"]["arn"] == role_arn)
    trust = json.loads(role["inputs"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "codebuild.amazonaws.com"}
    (policy,) = [
        p
        for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if p["inputs"]["role"] == role["id"]
    ]
    statements = json.loads(policy["inputs"]["policy"])["Statement"]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    # The job deploys as the CI deployer (OIDC); the runner itself gets no deploy rights.
    assert {a.split(":")[0] for a in actions} == {"logs", "codeconnections", "ec2"}
    assert not any(a.endswith("*") for a in actions)
    (attach,) = [s for s in statements if s["Action"] == "ec2:CreateNetworkInterfacePermission"]
    private = {s["id"] for s in plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in s["urn"]}
    subnets = attach["Condition"]["ArnEquals"]["ec2:Subnet"]
    assert {arn.rsplit("/", 1)[1] for arn in subnets} == private
    assert attach["Condition"]["StringEquals"] == {
        "ec2:AuthorizedService": "codebuild.amazonaws.com"
    }
    # CodeBuild writes a build's logs to /aws/codebuild/<project> unless told otherwise.
    settings = plan.spec.settings
    group = (
        f"arn:aws:logs:{settings.region}:{settings.account_id}:log-group:"
        f"/aws/codebuild/{runner(plan)['inputs']['name']}"
    )
    (logs,) = [s for s in statements if "logs:PutLogEvents" in s["Action"]]
    for arn in (group, f"{group}:log-stream:build-1"):
        assert any(fnmatchcase(arn, pattern) for pattern in logs["Resource"]), arn
    (connection,) = [s for s in statements if s["Sid"] == "UseGitHubConnection"]
    assert connection["Resource"] == plan.spec.settings.ci.deploy_runner_connection_arn


def test_the_label_is_codebuilds_format():
    assert runner_label("p") == "codebuild-p-${{ github.run_id }}-${{ github.run_attempt }}"


def test_a_connection_in_another_region_is_refused():
    config = read_stack_config("prod")  # us-west-2
    ci = json.loads(config["mlplat:ci"])
    ci["deployRunnerConnectionArn"] = ci["deployRunnerConnectionArn"].replace(
        "us-west-2", "us-east-1"
    )
    config["mlplat:ci"] = json.dumps(ci)
    with pytest.raises(SpecError, match=r"ci\.deployRunnerConnectionArn: is in us-east-1"):
        load_environment("prod", config)


# A connection made before July 2024 (or by a console that still does) has a codestar-connections
# ARN, which the declarations accept; IAM matches an action only to resources of its own prefix.
OLD_CONNECTION = (
    "arn:aws:codestar-connections:us-east-1:123456789012:connection/"
    "00000000-0000-4000-8000-000000000000"
)


@pytest.mark.parametrize("prefix", ["codeconnections", "codestar-connections"])
def test_the_runner_uses_its_connection_with_the_connections_own_prefix(prefix):
    from components.deploy_runner import runner_statements

    arn = OLD_CONNECTION.replace("codestar-connections", prefix)
    statements = runner_statements(
        project_name="p", connection_arn=arn, subnet_arns=[], region="us-east-1", account="1"
    )
    (use,) = [s for s in statements if arn in s.resources]
    assert {a.split(":")[0] for a in use.actions} == {prefix}
    assert {a.split(":")[1] for a in use.actions} == {"GetConnectionToken", "GetConnection"}


@pytest.mark.parametrize("prefix", ["codeconnections", "codestar-connections"])
def test_the_deployers_may_pass_the_configured_connection_whatever_its_prefix(prefix):
    from components import identity_policies as p

    arn = OLD_CONNECTION.replace("codestar-connections", prefix)
    scope = p.Scope("dev", "us-east-1", production=False, runner_connection_arn=arn)
    arns = p.Arns("123456789012", *(f"arn:aws:s3:::x{i}" for i in range(5)))
    for statements in (p.ci_deployer(scope, arns), p.platform_admin(scope, arns)):
        granted = {a for s in statements if arn in s.resources for a in s.actions}
        assert granted == {f"{prefix}:PassConnection", f"{prefix}:UseConnection"}
        p.grouped(statements)  # every service has its managed policy
