"""Every rule: one compliant resource passes; each variant (one property changed) fails by name.

Checks run through the offline runner (mlplat.policy_check), i.e. the rule objects the pack serves,
called with pulumi_policy's own argument types built from an export document.
"""

from __future__ import annotations

import pytest
from policy_cases import (
    DELETE,
    GITHUB_TRUST,
    KEY_ARN,
    alarm,
    aws_eks_cluster,
    bucket_policy,
    bucket_stack,
    budget,
    changed,
    deployment,
    document,
    eks_component_cluster,
    endpoint_configuration,
    endpoint_stack,
    export,
    gpu_endpoint_configuration,
    gpu_node_group,
    iam_policy,
    in_stack,
    kms_key,
    launch_template,
    node_group,
    resource,
    role,
    role_policy_attachment,
    sagemaker_model,
    spot_node_group,
    table,
    tags,
    tenancy_stack,
    topic,
    vpc_cni_addon,
    with_launch_template,
)

from mlplat.policy_check import check
from policies.registry import all_policies, policy_named

COMPONENT_NG, AWS_NG = "eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup"


def violated(*entries, stack="prod", rule=None, config=None):
    policies = [policy_named(rule)] if rule else None
    return check(export(*entries, stack=stack), policies=policies, config=config)


def rule_names(violations) -> set[str]:
    return {v.policy for v in violations}


def full_prod_stack() -> list[dict]:
    system_lt, gpu_lt, spot_lt = (launch_template(n) for n in ("system-lt", "gpu-lt", "spot-lt"))
    groups = []
    for template, group in (
        (system_lt, node_group(AWS_NG)),
        (gpu_lt, gpu_node_group(AWS_NG)),
        (spot_lt, spot_node_group(AWS_NG)),
    ):
        groups += [template, with_launch_template(group, template)]
    return [
        eks_component_cluster(),
        aws_eks_cluster(),
        vpc_cni_addon(),
        *groups,
        sagemaker_model(),
        *endpoint_stack(),
        role(),
        role("ci-deployer", GITHUB_TRUST),
        iam_policy(),
        role_policy_attachment(),
        bucket_policy(),
        table(),
        *bucket_stack(),
        kms_key(),
        topic(),
        alarm(),
        budget(),
        deployment(),
        *tenancy_stack(),
    ]


def test_the_pack_has_at_least_30_rules_with_metadata():
    policies = all_policies()
    assert len(policies) >= 30
    for policy in policies:
        assert policy.name == policy.name.lower() and " " not in policy.name
        assert policy.description and policy.remediation_steps and policy.severity


def test_a_compliant_prod_stack_passes_every_rule():
    assert violated(*full_prod_stack()) == []


# (rule, compliant resource, property path, violating value); resource rules.
RESOURCE_CASES = [
    ("sagemaker-endpoint-config-kms-key", gpu_endpoint_configuration, "kmsKeyArn", KEY_ARN),
    (
        "eks-network-policy-enforced",
        eks_component_cluster,
        "vpcCniOptions.enableNetworkPolicy",
        False,
    ),
    ("eks-network-policy-enforced", eks_component_cluster, "vpcCniOptions", DELETE),
    ("eks-network-policy-enforced", vpc_cni_addon, "configurationValues", "{}"),
    ("eks-network-policy-enforced", vpc_cni_addon, "configurationValues", DELETE),
    *[
        case
        for cluster, private, public, cidrs, key, logs, mode in (
            (
                eks_component_cluster,
                "endpointPrivateAccess",
                "endpointPublicAccess",
                "publicAccessCidrs",
                "encryptionConfigKeyArn",
                "enabledClusterLogTypes",
                "authenticationMode",
            ),
            (
                aws_eks_cluster,
                "vpcConfig.endpointPrivateAccess",
                "vpcConfig.endpointPublicAccess",
                "vpcConfig.publicAccessCidrs",
                "encryptionConfig.provider.keyArn",
                "enabledClusterLogTypes",
                "accessConfig.authenticationMode",
            ),
        )
        for case in (
            ("eks-private-endpoint-in-prod", cluster, public, True),
            ("eks-private-endpoint-in-prod", cluster, private, False),
            ("eks-public-endpoint-restricted", cluster, public, True),
            ("eks-secrets-encryption", cluster, key, DELETE),
            ("eks-control-plane-logging", cluster, logs, ["api", "audit"]),
            ("eks-authentication-mode-api", cluster, mode, "API_AND_CONFIG_MAP"),
            ("eks-authentication-mode-api", cluster, mode, DELETE),
            ("eks-version-allowed", cluster, "version", "1.29"),
            ("eks-version-allowed", cluster, "version", DELETE),
        )
    ],
    *[
        case
        for ng in (COMPONENT_NG, AWS_NG)
        for case in (
            ("nodegroup-gpu-taint", lambda ng=ng: gpu_node_group(ng), "taints", []),
            (
                "nodegroup-gpu-taint",
                lambda ng=ng: gpu_node_group(ng),
                "taints.0.effect",
                "NoSchedule",
            ),
            (
                "nodegroup-gpu-taint",
                lambda ng=ng: node_group(ng),
                "amiType",
                "AL2023_x86_64_NVIDIA",
            ),
            (
                "nodegroup-spot-diversity",
                lambda ng=ng: spot_node_group(ng),
                "instanceTypes",
                ["m5.xlarge", "m6i.xlarge"],
            ),
            ("nodegroup-size-cap", lambda ng=ng: node_group(ng), "scalingConfig.maxSize", 50),
            ("nodegroup-size-cap", lambda ng=ng: node_group(ng), "scalingConfig.minSize", 7),
            ("nodegroup-size-cap", lambda ng=ng: gpu_node_group(ng), "scalingConfig.maxSize", 12),
            ("nodegroup-size-cap", lambda ng=ng: node_group(ng), "scalingConfig", DELETE),
        )
    ],
    ("launch-template-imdsv2", launch_template, "metadataOptions.httpTokens", "optional"),
    ("launch-template-imdsv2", launch_template, "metadataOptions", DELETE),
    ("sagemaker-endpoint-config-kms-key", endpoint_configuration, "kmsKeyArn", DELETE),
    ("sagemaker-model-isolation-in-prod", sagemaker_model, "enableNetworkIsolation", False),
    (
        "sagemaker-min-instances-in-prod",
        endpoint_configuration,
        "productionVariants.0.initialInstanceCount",
        1,
    ),
    (
        "sagemaker-instance-type-allowed",
        endpoint_configuration,
        "productionVariants.0.instanceType",
        "ml.p4d.24xlarge",
    ),
    ("sagemaker-data-capture-in-prod", endpoint_configuration, "dataCaptureConfig", DELETE),
    (
        "sagemaker-data-capture-in-prod",
        endpoint_configuration,
        "dataCaptureConfig.enableCapture",
        False,
    ),
    (
        "sagemaker-data-capture-in-prod",
        endpoint_configuration,
        "dataCaptureConfig.initialSamplingPercentage",
        0,
    ),
    (
        "iam-no-wildcard-admin",
        iam_policy,
        "policy",
        document({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    ),
    (
        "iam-no-wildcard-admin",
        role,
        "inlinePolicies.0.policy",
        document({"Effect": "Allow", "Action": ["*:*"], "Resource": ["*"]}),
    ),
    (
        "iam-no-broad-managed-policies",
        role,
        "managedPolicyArns",
        ["arn:aws:iam::aws:policy/AdministratorAccess"],
    ),
    (
        "iam-no-broad-managed-policies",
        role_policy_attachment,
        "policyArn",
        "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
    ),
    (
        "iam-no-passrole-wildcard",
        iam_policy,
        "policy",
        document({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}),
    ),
    (
        "iam-no-passrole-wildcard",
        role,
        "inlinePolicies.0.policy",
        document({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}),
    ),
    (
        "iam-no-wildcard-principal",
        role,
        "assumeRolePolicy",
        document({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}),
    ),
    (
        "iam-no-wildcard-principal",
        bucket_policy,
        "policy",
        document(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::mlplat-prod-artifacts/*",
            }
        ),
    ),
    *[
        (
            "iam-oidc-trust-scoped",
            lambda: role("ci-deployer", GITHUB_TRUST),
            "assumeRolePolicy",
            document({**GITHUB_TRUST, "Condition": condition}),
        )
        for condition in (
            {
                "StringLike": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "repo:acme/*",
                }
            },
            {
                "StringLike": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "*",
                }
            },
            {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
            {
                "StringEquals": {
                    "token.actions.githubusercontent.com:sub": GITHUB_TRUST["Condition"][
                        "StringEquals"
                    ]["token.actions.githubusercontent.com:sub"]
                }
            },
        )
    ],
    ("dynamodb-pitr", table, "pointInTimeRecovery.enabled", False),
    ("dynamodb-pitr", table, "pointInTimeRecovery", DELETE),
    ("dynamodb-customer-kms", table, "serverSideEncryption.kmsKeyArn", DELETE),
    ("dynamodb-customer-kms", table, "serverSideEncryption", DELETE),
    ("dynamodb-deletion-protection", table, "deletionProtectionEnabled", False),
    ("kms-key-rotation", kms_key, "enableKeyRotation", False),
    ("sns-topic-encrypted", topic, "kmsMasterKeyId", DELETE),
    ("cloudwatch-alarm-has-actions", alarm, "alarmActions", []),
    ("cloudwatch-alarm-has-actions", alarm, "actionsEnabled", False),
    ("required-tags", table, "tags", {}),
    ("required-tags", topic, "tags", tags("dev")),
    ("required-tags", kms_key, "tags", tags(mlplat_model="ranker")),
    ("required-tags", eks_component_cluster, "tags", DELETE),
    ("prod-stateful-protected", table, "@protect", False),
    ("prod-stateful-protected", kms_key, "@protect", False),
    (
        "k8s-container-resources",
        deployment,
        "spec.template.spec.containers.0.resources.limits",
        DELETE,
    ),
    (
        "k8s-container-resources",
        deployment,
        "spec.template.spec.containers.0.resources.requests.cpu",
        DELETE,
    ),
    (
        "k8s-no-privileged-containers",
        deployment,
        "spec.template.spec.containers.0.securityContext.privileged",
        True,
    ),
    (
        "k8s-no-privileged-containers",
        deployment,
        "spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation",
        True,
    ),
    (
        "k8s-no-privileged-containers",
        deployment,
        "spec.template.spec.containers.0.securityContext.capabilities",
        {"add": ["SYS_ADMIN"]},
    ),
    ("k8s-no-privileged-containers", deployment, "spec.template.spec.hostNetwork", True),
    (
        "k8s-pod-security-restricted",
        deployment,
        "spec.template.spec.containers.0.securityContext.runAsNonRoot",
        DELETE,
    ),
    (
        "k8s-pod-security-restricted",
        deployment,
        "spec.template.spec.securityContext.seccompProfile",
        DELETE,
    ),
    (
        "k8s-pod-security-restricted",
        deployment,
        "spec.template.spec.containers.0.securityContext.capabilities",
        DELETE,
    ),
    (
        "k8s-pod-security-restricted",
        deployment,
        "spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation",
        DELETE,
    ),
    (
        "k8s-pod-security-restricted",
        deployment,
        "spec.template.spec.volumes.0",
        {"name": "host", "hostPath": {"path": "/var"}},
    ),
    ("k8s-high-uid", deployment, "spec.template.spec.securityContext.runAsUser", 1000),
    ("k8s-high-uid", deployment, "spec.template.spec.securityContext.runAsGroup", DELETE),
    (
        "k8s-explicit-image-pull-policy",
        deployment,
        "spec.template.spec.containers.0.imagePullPolicy",
        DELETE,
    ),
    (
        "k8s-explicit-image-pull-policy",
        deployment,
        "spec.template.spec.containers.0.imagePullPolicy",
        "IfNotPresent",
    ),
    (
        "k8s-no-service-account-token",
        deployment,
        "spec.template.spec.automountServiceAccountToken",
        DELETE,
    ),
]


def _case_id(case) -> str:
    rule, factory, path, value = case
    entry = factory()
    shown = "<deleted>" if value is DELETE else repr(value)
    return f"{rule}:{entry['type'].rsplit(':', 1)[-1]}:{path}={shown}"


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=[_case_id(c) for c in RESOURCE_CASES])
def test_resource_rule(case):
    rule, factory, path, value = case
    compliant = factory()
    assert violated(compliant, rule=rule) == []
    found = violated(changed(compliant, path, value), rule=rule)
    assert rule_names(found) == {rule}
    assert all(v.urn == compliant["urn"] for v in found)


# One failing stack per stack rule (the tests below vary each); run by the coverage test, so a
# rule without a case that really fails cannot pass it.
STACK_FAILING_CASES = {
    "nodegroup-imdsv2": lambda: [changed(node_group(COMPONENT_NG), "launchTemplate", DELETE)],
    "sagemaker-variant-autoscaling": lambda: _replace(
        endpoint_stack(), 2, "resourceId", "endpoint/cpu-sklearn/variant/renamed"
    ),
    "s3-public-access-block": lambda: _replace(bucket_stack(), 1, "restrictPublicBuckets", False),
    "s3-versioning": lambda: _replace(
        bucket_stack(), 2, "versioningConfiguration.status", "Suspended"
    ),
    "s3-sse-kms": lambda: _replace(
        bucket_stack(), 3, "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256"
    ),
    "budget-actual-and-forecasted": lambda: [
        changed(budget(), "notifications.0.subscriberSnsTopicArns", [])
    ],
    "k8s-team-namespace-quota": lambda: _replace(
        tenancy_stack(), 1, "metadata.namespace", "team-b"
    ),
}


def test_every_rule_has_a_failing_case():
    for rule, failing in STACK_FAILING_CASES.items():
        assert rule in rule_names(violated(*failing(), rule=rule)), rule
    tested_elsewhere = {
        "estimated-cost-within-budget",  # tests/cost, next to the estimator
        # tests/policies/test_iam_quota_rules.py: both sides of every limit
        "iam-role-inline-policy-size",
        "iam-managed-policy-size",
        "iam-trust-policy-size",
        "iam-role-managed-policy-count",
        "iam-name-limits",
        # tests/data/test_iam_permissions.py: over each stack's export and edits of it
        "iam-deployer-permission-complete",
        "serving-stack-no-platform-resources",  # tests/policies/test_layer_rules.py
        "stack-resource-budget",  # tests/policies/test_layer_rules.py
        # tests/policies/test_route_rules.py: the generated Ingress, one setting changed per case
        "alb-ingress-internal",
        "alb-ingress-tls-listener",
        "alb-ingress-access-logs",
        "alb-ingress-deletion-protection",
        "alb-ingress-token-validation",
        # tests/policies/test_route_auth_rules.py: the token issuer's, one property per case
        "cognito-user-pool-deletion-protection",
        "cognito-client-credentials-only",
        "secretsmanager-secret-kms-key",
        # tests/lifecycle/test_lifecycle_rules.py: both sides, on the builder's definitions
        "sagemaker-spot-training-checkpoints",
        "lifecycle-pipelines-and-schedules-tagged",
        "drift-alarm-notifies-team",
        # tests/policies/test_prometheus_policies.py: a compliant stack and each way to fail
        "amp-workspace-kms-key",
        "amp-workspace-logging",
        "amp-scraper-private-subnets",
        "eks-model-latency-and-error-alerts",
        "prometheus-alert-has-owner",
        # tests/policies/test_pipeline_rules.py: Kafka and batch (issue 18)
        *("msk-iam-auth", "msk-tls-in-transit", "msk-customer-kms", "msk-not-public"),
        *("msk-broker-logs", "emr-job-role-scoped", "emr-job-logs-on"),
    }
    tested = {case[0] for case in RESOURCE_CASES} | set(STACK_FAILING_CASES) | tested_elsewhere
    assert {p.name for p in all_policies()} <= tested


def test_compliant_alternatives_pass():
    in_vpc = changed(
        changed(sagemaker_model(), "enableNetworkIsolation", False),
        "vpcConfig",
        {"subnets": ["subnet-1"], "securityGroupIds": ["sg-1"]},
    )
    asymmetric = changed(
        changed(kms_key(), "enableKeyRotation", False), "customerMasterKeySpec", "RSA_2048"
    )
    dev_public = in_stack(changed(eks_component_cluster(), "endpointPublicAccess", True), "dev")
    dev_public = changed(dev_public, "publicAccessCidrs", ["203.0.113.0/24"])
    assert violated(in_vpc, asymmetric, budget()) == []
    assert violated(dev_public, in_stack(budget(), "dev"), stack="dev") == []


# --- stack rules: one compliant stack, one resource changed per case ---------------------------


def _replace(stack: list[dict], index: int, path: str, value) -> list[dict]:
    return [changed(e, path, value) if i == index else e for i, e in enumerate(stack)]


@pytest.mark.parametrize("bucket_type", ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"])
@pytest.mark.parametrize("v2_configs", [False, True])
@pytest.mark.parametrize(
    ("rule", "index", "path", "value"),
    [
        ("s3-public-access-block", 1, "restrictPublicBuckets", False),
        ("s3-public-access-block", 1, "bucket", "someone-elses-bucket"),
        ("s3-versioning", 2, "versioningConfiguration.status", "Suspended"),
        ("s3-versioning", 2, "bucket", "someone-elses-bucket"),
        ("s3-sse-kms", 3, "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256"),
        ("s3-sse-kms", 3, "rules.0.applyServerSideEncryptionByDefault.kmsMasterKeyId", DELETE),
    ],
)
def test_bucket_rules(bucket_type, v2_configs, rule, index, path, value):
    stack = bucket_stack(bucket_type, v2_configs=v2_configs)
    assert violated(*stack, rule=rule) == []
    mutated = _replace(stack, index, path, value)
    if path == "bucket":  # a configuration of another bucket does not count for this one
        mutated[index]["propertyDependencies"] = {}
    found = violated(*mutated, rule=rule)
    assert rule_names(found) == {rule}
    assert [v.urn for v in found] == [stack[0]["urn"]]


def test_bucket_inline_settings_count():
    bucket = changed(bucket_stack("aws:s3/bucket:Bucket")[0], "versioning", {"enabled": True})
    bucket = changed(
        bucket,
        "serverSideEncryptionConfiguration",
        {
            "rule": {
                "applyServerSideEncryptionByDefault": {
                    "sseAlgorithm": "aws:kms",
                    "kmsMasterKeyId": "alias/platform",
                }
            }
        },
    )
    assert violated(bucket, rule="s3-versioning") == []
    assert violated(bucket, rule="s3-sse-kms") == []
    assert rule_names(violated(bucket, rule="s3-public-access-block")) == {"s3-public-access-block"}


@pytest.mark.parametrize(
    ("index", "path", "value"),
    [
        (2, "resourceId", "endpoint/cpu-sklearn/variant/renamed"),
        (3, "resourceId", "endpoint/cpu-sklearn/variant/renamed"),
        (2, "scalableDimension", "ecs:service:DesiredCount"),
        (0, "productionVariants.0.variantName", "blue"),
    ],
)
def test_sagemaker_variant_autoscaling(index, path, value):
    rule = "sagemaker-variant-autoscaling"
    stack = endpoint_stack()
    assert violated(*stack, rule=rule) == []
    found = violated(*_replace(stack, index, path, value), rule=rule)
    assert rule_names(found) == {rule}
    assert {v.urn for v in found} == {stack[1]["urn"]}


@pytest.mark.parametrize("group_type", [COMPONENT_NG, AWS_NG])
@pytest.mark.parametrize(
    ("target", "path", "value"),
    [
        ("template", "metadataOptions.httpTokens", "optional"),
        ("group", "launchTemplate", DELETE),
    ],
)
def test_nodegroup_imdsv2(group_type, target, path, value):
    rule = "nodegroup-imdsv2"
    template = launch_template()
    group = with_launch_template(node_group(group_type), template)
    assert violated(template, group, rule=rule) == []
    if target == "template":
        template = changed(template, path, value)
    else:
        group = changed(group, path, value)
    found = violated(template, group, rule=rule)
    assert rule_names(found) == {rule}
    assert [v.urn for v in found] == [group["urn"]]


def test_nodegroup_imdsv2_accepts_the_pulumi_eks_switch():
    group = changed(node_group(COMPONENT_NG), "launchTemplate", DELETE)
    assert rule_names(violated(group, rule="nodegroup-imdsv2")) == {"nodegroup-imdsv2"}
    assert violated(changed(group, "enableIMDSv2", True), rule="nodegroup-imdsv2") == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (
            "notifications",
            [
                {
                    "notificationType": "ACTUAL",
                    "threshold": 80,
                    "subscriberSnsTopicArns": ["arn:aws:sns:eu-west-1:1:t"],
                }
            ],
        ),
        ("notifications.0.subscriberSnsTopicArns", []),
        ("notifications.1.notificationType", "ACTUAL"),
    ],
)
def test_budget_notifications(path, value):
    rule = "budget-actual-and-forecasted"
    assert violated(budget(), rule=rule) == []
    found = violated(changed(budget(), path, value), rule=rule)
    assert rule_names(found) == {rule}
    assert {v.urn for v in found} == {budget()["urn"]}


def test_a_stack_without_budget_is_reported_on_the_stack():
    found = violated(table(), rule="budget-actual-and-forecasted")
    assert [v.urn for v in found] == ["urn:pulumi:prod::mlplat::pulumi:pulumi:Stack::mlplat-prod"]


@pytest.mark.parametrize(
    ("index", "path", "value"),
    [
        (1, "metadata.namespace", "team-b"),
        (1, "spec.hard", {"pods": "100"}),
        (1, "spec.hard.requests.memory", DELETE),
    ],
)
def test_team_namespace_quota(index, path, value):
    rule = "k8s-team-namespace-quota"
    stack = tenancy_stack()
    assert violated(*stack, rule=rule) == []
    if path == "spec.hard.requests.memory":
        mutated = [
            stack[0],
            changed(
                stack[1],
                "spec.hard",
                {
                    k: v
                    for k, v in stack[1]["inputs"]["spec"]["hard"].items()
                    if k != "requests.memory"
                },
            ),
        ]
    else:
        mutated = _replace(stack, index, path, value)
    found = violated(*mutated, rule=rule)
    assert rule_names(found) == {rule}
    assert {v.urn for v in found} == {stack[0]["urn"]}


def test_namespaces_without_a_team_need_no_quota():
    addon = resource(
        "kubernetes:core/v1:Namespace", "karpenter", {"metadata": {"name": "karpenter"}}
    )
    assert violated(addon, rule="k8s-team-namespace-quota") == []


def test_required_tags_ignore_untaggable_types():
    pab = bucket_stack()[1]
    assert "tags" not in pab["inputs"]
    assert violated(pab, rule="required-tags") == []
