"""Batch jobs in layered stacks: the namespace and EMR's access are the platform's, the rest is
the owning team's serving stack, which its deployer may manage and no other team's may."""

from __future__ import annotations

import pytest

from tests.layers.conftest import resources
from tests.layers.test_team_deployer import _document, _scope, _tag_context, allowed

BATCH_TYPES = {
    "aws:emrcontainers/virtualCluster:VirtualCluster": ("emr-containers:DeleteVirtualCluster",),
    "aws:emrcontainers/jobTemplate:JobTemplate": ("emr-containers:DeleteJobTemplate",),
    "aws:scheduler/schedule:Schedule": ("scheduler:UpdateSchedule", "scheduler:DeleteSchedule"),
    "aws:scheduler/scheduleGroup:ScheduleGroup": ("scheduler:DeleteScheduleGroup",),
    "aws:cloudwatch/logGroup:LogGroup": ("logs:DeleteLogGroup", "logs:PutRetentionPolicy"),
    "aws:cloudwatch/eventRule:EventRule": ("events:PutRule", "events:DeleteRule"),
}


@pytest.fixture(scope="module")
def dev(layer_exports):
    return layer_exports("dev")


def _owner(stack: str) -> str:
    return stack.rsplit(".", 1)[-1]


def test_batch_lives_in_the_owning_teams_serving_stack_and_tenancy_in_the_platform(dev):
    teams_with_jobs = set()
    for stack, document in dev.items():
        # Batch's own resources (the lifecycle has schedules and rules too; the platform has log
        # groups of its own): the types batch creates, under a batch component.
        found = {r["type"] for r in resources(document) if "batch" in r["urn"]} & set(BATCH_TYPES)
        if stack == "dev.platform":
            assert not found
            kinds = {r["type"] for r in resources(document) if "batch" in r["urn"]}
            assert "aws:eks/accessEntry:AccessEntry" in kinds
            assert "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding" in kinds
        elif found:
            teams_with_jobs.add(_owner(stack))
    from infra.loader import load_environment, read_stack_config

    spec = load_environment("dev", read_stack_config("dev"))
    assert teams_with_jobs == {m.team for m in spec.models if m.batch} != set()


@pytest.mark.parametrize("team", ["growth", "fraud", "growth-ops"])
def test_a_team_deployer_manages_its_own_batch_resources_only(dev, team):
    policy = _document(team)
    tried = 0
    for resource in resources(dev["dev.serving.growth"]):
        actions = BATCH_TYPES.get(resource["type"], ())
        arn = resource["outputs"].get("arn")
        for action in actions:
            tried += 1
            context = _tag_context(resource)
            if resource["type"] == "aws:scheduler/schedule:Schedule":
                context = {}  # schedules carry no tags: their group's name decides
            assert allowed(policy, action, arn, context) is (team == "growth"), (action, arn)
    assert tried >= len(BATCH_TYPES) + 2


def test_a_team_deployer_creates_virtual_clusters_only_tagged_as_its_own():
    policy, scope = _document("growth"), _scope("growth")
    own = {"aws:RequestTag/mlplat:team": scope.team}
    assert allowed(policy, "emr-containers:CreateVirtualCluster", "*", own)
    assert not allowed(policy, "emr-containers:CreateVirtualCluster", "*", {})
    other = {"aws:RequestTag/mlplat:team": "fraud"}
    assert not allowed(policy, "emr-containers:CreateVirtualCluster", "*", other)


def test_a_team_name_that_prefixes_anothers_reaches_nothing_of_it():
    """Team growth's names are a prefix of team growth-ops's: exact names decide."""
    policy = _document("growth")
    base = "123456789012"
    arns = {
        "scheduler:DeleteScheduleGroup": f"arn:aws:scheduler:us-east-1:{base}:schedule-group/"
        "mlplat-dev-growth-ops-batch",
        "scheduler:UpdateSchedule": f"arn:aws:scheduler:us-east-1:{base}:schedule/"
        "mlplat-dev-growth-ops-batch/m-nightly",
        "events:DeleteRule": f"arn:aws:events:us-east-1:{base}:rule/mlplat-dev-growth-ops-batch",
        "logs:DeleteLogGroup": f"arn:aws:logs:us-east-1:{base}:log-group:/mlplat/dev/batch/"
        "growth-ops",
    }
    for action, arn in arns.items():
        assert not allowed(policy, action, arn, {}), (action, arn)
        own = arn.replace("growth-ops", "growth")
        assert allowed(policy, action, own, {}), (action, own)
