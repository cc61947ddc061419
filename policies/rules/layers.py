"""Layer rules: a team's serving stack holds the team's models, never the platform's resources;
no stack grows past the resource budget that keeps its previews and updates short.

The platform layer (network, cluster, keys, tables, buckets, budgets, namespaces) is changed by the
platform's deployer only; a serving stack that declared one of these would own a second copy, or,
after a state move, the platform's own. Judged on the stack name in the URN (``<env>.serving.*``).
"""

from __future__ import annotations

from collections import Counter

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.framework import is_serving_layer, resource_rule, setting, stack_of, stack_rule

PLATFORM_TYPES = frozenset(
    {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:ec2/securityGroup:SecurityGroup",
        "eks:index:Cluster",
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:eks/addon:Addon",
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:kms/key:Key",
        "aws:kms/alias:Alias",
        "aws:dynamodb/table:Table",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:budgets/budget:Budget",
        "aws:sns/topic:Topic",
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:ResourceQuota",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        "kubernetes:helm.sh/v3:Release",
    }
)


@resource_rule(
    name="serving-stack-no-platform-resources",
    description="A team's serving stack creates no platform resource (VPC, cluster, KMS key, "
    "table, bucket, budget, namespace, ...): it uses the platform's through its contract.",
    severity=Severity.HIGH,
    remediation="Declare the resource in the platform layer (infra/platform.py) and, if serving "
    "needs it, expose it in infra/contract.py.",
    resource_types=PLATFORM_TYPES,
    enforcement=EnforcementLevel.MANDATORY,
)
def serving_stack_no_platform_resources(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if is_serving_layer(args.urn):
        report(f"{args.resource_type} in serving stack {stack_of(args.urn)}")


# Issue 13's budget: Pulumi users report previews of minutes past ~1,300-1,700 resources in one
# stack (pulumi/pulumi#7682, #5001). Every resource counts, components included: the engine
# walks, diffs and checkpoints each one.
BUDGET_CONFIG = {
    "maxResources": {
        "type": "integer",
        "minimum": 1,
        "default": 1500,
        "description": "The most resources one stack may hold.",
    }
}


@stack_rule(
    name="stack-resource-budget",
    description="No stack holds more resources than the budget (1,500 by default): a team's "
    "serving layer that outgrows it is split into shards, a single stack into layers.",
    severity=Severity.MEDIUM,
    remediation="Serving stack: raise the team's `serving_shards` in stacks/<env>.py and move the "
    "resources the new shard takes (README, 'Sharding a team's serving layer'). Single stack: "
    "deploy the environment as layered stacks (README, 'Layered stacks').",
    config=BUDGET_CONFIG,
)
def stack_resource_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    limit = int(setting(args, BUDGET_CONFIG, "maxResources"))
    # One document may hold several stacks (`--stack '<env>.*'`): each is judged on its own.
    for stack, count in sorted(Counter(stack_of(r.urn) for r in args.resources).items()):
        if count > limit:
            report(f"stack {stack} holds {count:,} resources, over the budget of {limit:,}")
