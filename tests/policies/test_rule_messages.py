"""Rules on the shapes their tests did not reach: the defaults a rule assumes when a property is
left out, where a violation says it was found, and the subjects an OIDC trust may name."""

from __future__ import annotations

import pytest
from policy_cases import (
    DELETE,
    GITHUB_TRUST,
    SAGEMAKER_TRUST,
    aws_eks_cluster,
    bucket_policy,
    bucket_stack,
    budget,
    changed,
    document,
    eks_component_cluster,
    endpoint_configuration,
    export,
    iam_policy,
    launch_template,
    node_group,
    role,
)

from mlplat.policy_check import check
from policies.registry import policy_named


def messages(rule: str, *entries: dict) -> list[str]:
    return [v.message for v in check(export(*entries), policies=[policy_named(rule)])]


# --- the EKS component's endpoint defaults (pulumi-eks: private off, public on) ----------------


@pytest.mark.parametrize(
    ("left_out", "message"),
    [
        ("endpointPrivateAccess", "endpoint private=False, public=False"),
        ("endpointPublicAccess", "endpoint private=True, public=True"),
    ],
)
def test_a_component_cluster_without_endpoint_settings_gets_the_defaults(left_out, message):
    cluster = changed(eks_component_cluster(), left_out, DELETE)
    assert messages("eks-private-endpoint-in-prod", cluster) == [message]


# --- where in an identity document a violation is --------------------------------------------

ADMIN = {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}


def test_a_violation_names_the_inline_policy_and_the_statement():
    owner = changed(role(), "inlinePolicies", [{"name": "admin", "policy": document(ADMIN)}])
    assert messages("iam-no-wildcard-admin", owner) == [
        "inline policy admin: statement 'All' allows * on *"
    ]


def test_a_violation_in_an_unnamed_inline_policy_or_statement_still_says_where():
    unnamed = {key: value for key, value in ADMIN.items() if key != "Sid"}
    owner = changed(role(), "inlinePolicies", [{"policy": document(unnamed)}])
    assert messages("iam-no-wildcard-admin", owner) == ["inline policy : a statement allows * on *"]


def test_a_violation_in_a_managed_policy_names_its_document():
    policy = changed(iam_policy(), "policy", document(ADMIN))
    assert messages("iam-no-wildcard-admin", policy) == ["policy: statement 'All' allows * on *"]


# --- the subjects an OIDC trust names ----------------------------------------------------------

SUB = "token.actions.githubusercontent.com:sub"


def _trusting(subject) -> dict:
    trust = {
        **GITHUB_TRUST,
        "Condition": {"StringLike": {**GITHUB_TRUST["Condition"]["StringEquals"]}},
    }
    if subject is None:
        del trust["Condition"]["StringLike"][SUB]
    else:
        trust["Condition"]["StringLike"][SUB] = subject
    return role("ci-deployer", trust)


@pytest.mark.parametrize(
    ("subject", "problem"),
    [
        (None, "no condition on the token subject (:sub)"),
        ("*", "subject '*' matches every identity"),
        (
            "repo:acme/*:ref:refs/heads/main",
            "subject 'repo:acme/*:ref:refs/heads/main' does not name one repository",
        ),
        (
            "system:serviceaccount:*:scorer",
            "subject 'system:serviceaccount:*:scorer' does not name one namespace",
        ),
    ],
)
def test_an_oidc_trust_must_pin_one_repository_or_namespace(subject, problem):
    assert messages("iam-oidc-trust-scoped", _trusting(subject)) == [f"a statement: {problem}"]


@pytest.mark.parametrize(
    "subject",
    [
        "repo:acme/mlplat:ref:refs/heads/main",
        "repo:acme/mlplat:*",  # any ref of one repository
        "system:serviceaccount:team-a:*",  # any service account of one namespace
        "system:serviceaccount:team-a:scorer",
    ],
)
def test_an_oidc_trust_of_one_repository_or_namespace_passes(subject):
    assert messages("iam-oidc-trust-scoped", _trusting(subject)) == []


# --- a node group's launch template, found by the dependency the engine records ---------------


def test_a_node_group_is_judged_by_the_launch_template_it_depends_on():
    """In a preview the template's id is not known yet: only the dependency links them."""
    required, optional = launch_template("first"), launch_template("second")
    optional = changed(optional, "metadataOptions.httpTokens", "optional")
    for template in (required, optional):
        template["outputs"]["id"] = None
    group = node_group("aws:eks/nodeGroup:NodeGroup", launchTemplate={"version": "1"})
    group["propertyDependencies"] = {"launchTemplate": [optional["urn"]]}
    group["dependencies"] = [optional["urn"]]
    assert messages("nodegroup-imdsv2", required, optional, group) == [
        "its launch template second does not require IMDSv2"
    ]


# --- serverless endpoint variants have no instances to judge ---------------------------------


@pytest.mark.parametrize(
    "rule", ["sagemaker-instance-type-allowed", "sagemaker-min-instances-in-prod"]
)
def test_a_serverless_variant_is_not_judged_as_instances(rule):
    config = endpoint_configuration()
    serverless = {
        "variantName": "serverless",
        "modelName": "cpu-sklearn-model",
        "serverlessConfig": {"maxConcurrency": 5, "memorySizeInMb": 2048},
    }
    config = changed(
        config, "productionVariants", [*config["inputs"]["productionVariants"], serverless]
    )
    assert messages(rule, config) == []
    instance = {**serverless, "serverlessConfig": None, "instanceType": "ml.p5.48xlarge"}
    config = changed(config, "productionVariants.1", instance)
    assert messages(rule, config)  # the same variant on instances is judged


# --- the aws:eks/cluster shape (under the real engine) and its AWS defaults -------------------


@pytest.mark.parametrize(
    ("left_out", "message"),
    [
        ("vpcConfig.endpointPrivateAccess", "endpoint private=False, public=False"),
        ("vpcConfig.endpointPublicAccess", "endpoint private=True, public=True"),
    ],
)
def test_an_aws_cluster_without_endpoint_settings_gets_the_aws_defaults(left_out, message):
    cluster = changed(aws_eks_cluster(), left_out, DELETE)
    assert messages("eks-private-endpoint-in-prod", cluster) == [message]


@pytest.mark.parametrize(
    ("make", "prefix"), [(aws_eks_cluster, "vpcConfig."), (eks_component_cluster, "")]
)
def test_a_public_endpoint_is_judged_by_the_cidrs_of_either_shape(make, prefix):
    public = changed(make(), f"{prefix}endpointPublicAccess", True)
    office = changed(public, f"{prefix}publicAccessCidrs", ["203.0.113.0/24"])
    assert messages("eks-public-endpoint-restricted", office) == []
    everyone = changed(public, f"{prefix}publicAccessCidrs", ["0.0.0.0/0"])
    assert messages("eks-public-endpoint-restricted", everyone)


@pytest.mark.parametrize(
    ("make", "left_out"),
    [
        (aws_eks_cluster, "accessConfig.authenticationMode"),
        (eks_component_cluster, "authenticationMode"),
    ],
)
def test_a_cluster_without_an_authentication_mode_uses_config_map(make, left_out):
    cluster = changed(make(), left_out, DELETE)
    assert messages("eks-authentication-mode-api", cluster) == ["authenticationMode is CONFIG_MAP"]


def test_a_secrets_provider_without_a_key_encrypts_nothing():
    cluster = changed(aws_eks_cluster(), "encryptionConfig.provider.keyArn", "")
    assert messages("eks-secrets-encryption", cluster) == [
        "no KMS key encrypts the cluster's secrets"
    ]


# --- a bucket's configurations, linked by value when no dependency is recorded ----------------


@pytest.mark.parametrize("by", ["bucket", "id"])
def test_a_bucket_configuration_names_its_bucket_by_name_or_id(by):
    bucket, *configurations = bucket_stack()
    bucket["outputs"]["id"] = "artifacts-1a2b3c"  # the engine's id, not the name
    if by == "id":  # a bucket named by the engine: its id is known, its name input is not
        bucket = changed(bucket, "bucket", DELETE)
    for config in configurations:
        config["propertyDependencies"], config["dependencies"] = {}, []
        config["inputs"]["bucket"] = config["outputs"]["bucket"] = (
            bucket["outputs"].get(by) or (bucket["outputs"]["id"])
        )
    for rule in ("s3-public-access-block", "s3-versioning", "s3-sse-kms"):
        assert messages(rule, bucket, *configurations) == [], rule
    other = [changed(c, "bucket", "another-bucket") for c in configurations]
    assert messages("s3-versioning", bucket, *other) == [  # linked to nothing: not its own
        "versioning is not enabled (configurations: none)"
    ]


# --- a budget's subscribers: e-mail or the alerts topic ---------------------------------------


@pytest.mark.parametrize(
    ("subscribers", "subscribed"),
    [
        ({"subscriberSnsTopicArns": ["arn:aws:sns:eu-west-1:123456789012:alerts"]}, True),
        ({"subscriberEmailAddresses": ["ops@example.com"]}, True),
        ({}, False),
    ],
)
def test_a_budget_notification_needs_a_topic_or_an_address(subscribers, subscribed):
    entry = budget()
    notifications = [
        {
            key: value
            for key, value in n.items()
            if key not in ("subscriberSnsTopicArns", "subscriberEmailAddresses")
        }
        | subscribers
        for n in entry["inputs"]["notifications"]
    ]
    found = messages("budget-actual-and-forecasted", changed(entry, "notifications", notifications))
    expected = (
        []
        if subscribed
        else [f"{k} notification has no subscriber" for k in ("ACTUAL", "FORECASTED")]
    )
    assert found == expected


# --- what makes a node group a GPU group -------------------------------------------------------


@pytest.mark.parametrize(
    "marks",
    [
        {"gpu": True},  # pulumi-eks's own flag
        {"amiType": "AL2_x86_64_GPU"},
        {"amiType": "AL2023_x86_64_NVIDIA"},
    ],
)
def test_a_node_group_marked_gpu_any_way_needs_the_gpu_taint(marks):
    group = node_group("eks:index:ManagedNodeGroup", **marks)  # instance type m6i.xlarge
    assert messages("nodegroup-gpu-taint", group)
    assert messages("nodegroup-gpu-taint", node_group("eks:index:ManagedNodeGroup")) == []


# --- where a wildcard principal is ------------------------------------------------------------

ANYONE = {"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}


def test_a_wildcard_principal_names_the_trust_or_resource_policy():
    trusting = changed(role(), "assumeRolePolicy", document(ANYONE))
    assert messages("iam-no-wildcard-principal", trusting) == [
        "trust policy: statement 'Anyone' allows any principal without a condition"
    ]
    read_anything = {**ANYONE, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    policy = changed(bucket_policy(), "policy", document(read_anything))
    assert messages("iam-no-wildcard-principal", policy) == [
        "resource policy: statement 'Anyone' allows any principal without a condition"
    ]


def test_an_aws_cluster_without_any_encryption_config_encrypts_no_secrets():
    cluster = changed(aws_eks_cluster(), "encryptionConfig", DELETE)
    assert messages("eks-secrets-encryption", cluster) == [
        "no KMS key encrypts the cluster's secrets"
    ]


# --- which statements of a trust are OIDC trusts -----------------------------------------------


def test_only_web_identity_statements_of_a_federated_principal_are_oidc_trusts():
    """A service allowed AssumeRoleWithWebIdentity is no OIDC trust to scope; an unscoped OIDC
    statement after another statement is still judged, and each problem names it."""
    service = {**SAGEMAKER_TRUST, "Sid": "Service", "Action": "sts:AssumeRoleWithWebIdentity"}
    unscoped = {**GITHUB_TRUST, "Sid": "Ci", "Condition": {}}
    assert messages("iam-oidc-trust-scoped", role("ci-deployer", service)) == []
    trusting = changed(role(), "assumeRolePolicy", document(service, unscoped))
    assert messages("iam-oidc-trust-scoped", trusting) == [
        "statement 'Ci': no condition on the token subject (:sub)",
        "statement 'Ci': no condition on the token audience (:aud)",
    ]


def test_eks_endpoint_and_version_messages():
    public = changed(eks_component_cluster(), "endpointPublicAccess", True)
    public = changed(public, "publicAccessCidrs", ["10.0.0.0/8", "0.0.0.0/0"])
    assert messages("eks-public-endpoint-restricted", public) == [
        "public endpoint open to the internet (publicAccessCidrs=['10.0.0.0/8', '0.0.0.0/0'])"
    ]
    unpinned = changed(eks_component_cluster(), "version", DELETE)
    assert messages("eks-version-allowed", unpinned) == [
        "no version pinned (the AWS default changes over time); allowed: ['1.34', '1.35']"
    ]
    old = changed(eks_component_cluster(), "version", "1.29")
    assert messages("eks-version-allowed", old) == ["version 1.29 is not in ['1.34', '1.35']"]
