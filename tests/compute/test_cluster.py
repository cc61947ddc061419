"""The EKS cluster and its node groups, as the offline preview of every stack registers them."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.cluster import AUTOSCALER_GPU_LABEL, GPU_TAINT, SPOT_TAINT, _no_creator_admin
from infra import catalog
from infra.declarations import SpecError
from infra.loader import load_environment, read_stack_config

pytestmark = pytest.mark.slow

CLUSTER = "eks:index:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def node_groups(plan) -> dict[str, dict]:
    return {
        group["inputs"]["labels"]["mlplat.io/node-pool"]: group
        for group in plan.of_type(NODE_GROUP)
    }


def test_cluster_uses_access_entries_and_config_version(plan):
    inputs = plan.one(CLUSTER)["inputs"]
    assert inputs["authenticationMode"] == "API"
    assert inputs["version"] == plan.spec.settings.cluster.kubernetes_version
    assert inputs["createOidcProvider"] is True
    assert inputs["skipDefaultNodeGroup"] is True
    assert sorted(inputs["enabledClusterLogTypes"]) == sorted(
        ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    )


def test_secrets_are_encrypted_with_the_clusters_own_key(plan):
    cluster = plan.one(CLUSTER)
    key = plan.named("aws:kms/key:Key", f"mlplat-{plan.stack}-secrets-key")
    assert cluster["inputs"]["encryptionConfigKeyArn"] == key["outputs"]["arn"]


def test_endpoint_is_private_in_prod_and_cidr_limited_elsewhere(plan):
    inputs = plan.one(CLUSTER)["inputs"]
    assert inputs["endpointPrivateAccess"] is True
    if plan.stack == "prod":
        assert inputs["endpointPublicAccess"] is False
        assert "publicAccessCidrs" not in inputs
    else:
        cidrs = list(plan.spec.settings.cluster.public_access_cidrs)
        assert inputs["endpointPublicAccess"] is bool(cidrs)
        assert inputs.get("publicAccessCidrs") == cidrs
        assert "0.0.0.0/0" not in cidrs


def admin_entries(plan) -> dict[str, str]:
    """Cluster-admin access: principal ARN -> access-entry name, from the associations."""
    return {
        a["inputs"]["principalArn"]: a["urn"].rsplit("::", 1)[1]
        for a in plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if a["inputs"]["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
    }


def test_admins_are_the_ci_deployer_the_deploying_principal_and_outside_prod_the_platform_admin(
    plan,
):
    for association in plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation"):
        assert association["inputs"]["accessScope"] == {"type": "cluster"}
    account = plan.spec.settings.account_id
    personas = {"ci-deployer"} if plan.stack == "prod" else {"ci-deployer", "platform-admin"}
    expected = {f"arn:aws:iam::{account}:role/mlplat-{plan.stack}-{p}" for p in personas}
    # The offline engine runs as the IAM user arn:aws:iam::<account>:user/mlplat.
    expected.add(f"arn:aws:iam::{account}:user/mlplat")
    assert set(admin_entries(plan)) == expected
    # pulumi-eks makes no admin of its own (its entries would be out of the provider's reach).
    assert not plan.one(CLUSTER)["inputs"].get("accessEntries")


def test_the_kubernetes_provider_waits_for_the_deploying_principals_admin_access(plan):
    (provider,) = plan.of_type("pulumi:providers:kubernetes")
    account = plan.spec.settings.account_id
    deployer = admin_entries(plan)[f"arn:aws:iam::{account}:user/mlplat"]
    assert any(dep.endswith(f"::{deployer}") for dep in provider["dependencies"])
    for resource in plan.kubernetes_objects:
        assert resource["provider"].startswith(provider["urn"]), resource["urn"]


def test_a_deploy_by_the_ci_deployer_adds_no_second_entry_for_it(monkeypatch):
    """In CI the caller is the CI deployer's session: it is admin already (EKS would refuse a
    second access entry for the same principal)."""
    from mlplat.offline import mocks, preview_stack

    answer = mocks.invoke_result

    def as_ci_deployer(token, args, region, account):
        result = answer(token, args, region, account)
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            result["arn"] = f"arn:aws:sts::{account}:assumed-role/mlplat-dev-ci-deployer/gha-1"
        return result

    monkeypatch.setattr(mocks, "invoke_result", as_ci_deployer)
    resources = preview_stack("dev")["deployment"]["resources"]
    entries = [r for r in resources if r["type"] == "aws:eks/accessEntry:AccessEntry"]
    principals = [entry["inputs"]["principalArn"] for entry in entries]
    assert len(principals) == len(set(principals))
    assert "arn:aws:iam::123456789012:role/mlplat-dev-ci-deployer" in principals
    assert not any(":user/" in arn or ":sts:" in arn for arn in principals)


def test_creator_admin_transform_turns_the_bootstrap_off():
    opts = pulumi.ResourceOptions()
    args = pulumi.ResourceTransformArgs(
        custom=True,
        type_="aws:eks/cluster:Cluster",
        name="c",
        props={
            "accessConfig": {
                "authenticationMode": "API",
                "bootstrapClusterCreatorAdminPermissions": True,
            }
        },
        opts=opts,
    )
    result = _no_creator_admin(args)
    assert result.props["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    other = pulumi.ResourceTransformArgs(
        custom=True, type_="aws:eks/nodeGroup:NodeGroup", name="n", props={}, opts=opts
    )
    assert _no_creator_admin(other) is None


def test_three_node_groups_in_private_subnets(plan):
    groups = node_groups(plan)
    assert set(groups) == {"system", "gpu", "spot"}
    private = {s["id"] for s in plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in s["urn"]}
    for group in groups.values():
        assert set(group["inputs"]["subnetIds"]) == private


def test_system_group_is_untainted_on_demand(plan):
    system = node_groups(plan)["system"]["inputs"]
    assert system["capacityType"] == "ON_DEMAND"
    assert not system.get("taints")


def test_gpu_group_runs_the_nvidia_ami_tainted_and_scales_from_zero(plan):
    gpu = node_groups(plan)["gpu"]["inputs"]
    assert gpu["amiType"] == "AL2023_x86_64_NVIDIA"
    assert gpu["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert gpu["labels"]["nvidia.com/gpu.present"] == "true"
    assert gpu["scalingConfig"]["minSize"] == 0


def test_spot_group_is_diverse_spot_and_tainted(plan):
    spot = node_groups(plan)["spot"]["inputs"]
    assert spot["capacityType"] == "SPOT"
    assert len(set(spot["instanceTypes"])) >= 3
    assert spot["taints"] == [{"key": SPOT_TAINT.key, "value": "true", "effect": "NO_SCHEDULE"}]
    assert spot["labels"]["mlplat.io/capacity"] == "spot"


def test_autoscaler_owns_desired_sizes(plan):
    for group in plan.of_type(NODE_GROUP):
        assert "scalingConfig.desiredSize" in group["ignoreChanges"], group["urn"]


def test_nodes_launch_from_an_imdsv2_only_template(plan):
    template = plan.one("aws:ec2/launchTemplate:LaunchTemplate")
    metadata = template["inputs"]["metadataOptions"]
    assert metadata["httpTokens"] == "required"
    assert metadata["httpPutResponseHopLimit"] == 1
    assert template["inputs"]["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    for group in plan.of_type(NODE_GROUP):
        assert group["inputs"]["launchTemplate"]["id"] == template["id"]


def test_taints_spelled_for_each_api():
    assert GPU_TAINT.node_group_args().effect == "NO_SCHEDULE"
    assert GPU_TAINT.toleration() == {
        "key": "nvidia.com/gpu",
        "operator": "Equal",
        "value": "true",
        "effect": "NoSchedule",
    }


def test_the_vpc_cni_enforces_network_policies(plan):
    # Without it the teams' default-deny NetworkPolicies are accepted and never enforced.
    cluster = plan.one("eks:index:Cluster")
    assert cluster["inputs"]["vpcCniOptions"]["enableNetworkPolicy"] is True


def test_node_groups_wait_for_every_policy_of_their_role(plan):
    attachments = plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    for group in plan.of_type(NODE_GROUP):
        role = next(
            r
            for r in plan.of_type("aws:iam/role:Role")
            if r["outputs"]["arn"] == group["inputs"]["nodeRoleArn"]
        )
        policies = {a["urn"] for a in attachments if a["inputs"]["role"] == role["outputs"]["name"]}
        assert policies, group["urn"]
        # Created before the group, deleted after it: nodes never run without their policies.
        assert policies <= set(group["dependencies"]), group["urn"]


def test_gpu_nodes_carry_the_accelerator_label_the_autoscaler_reads(plan):
    for group in plan.of_type(NODE_GROUP):
        types = group["inputs"]["instanceTypes"]
        if not any(catalog.EC2_INSTANCE_TYPES[t].has_gpu for t in types):
            assert AUTOSCALER_GPU_LABEL not in group["inputs"]["labels"]
            continue
        assert group["inputs"]["labels"][AUTOSCALER_GPU_LABEL] == catalog.gpu_model(types[0])
        assert {catalog.gpu_model(t) for t in types} == {catalog.gpu_model(types[0])}


def test_a_gpu_pool_mixing_gpu_models_is_refused():
    config = read_stack_config("prod")
    cluster = json.loads(config["mlplat:cluster"])
    cluster["gpuNodes"]["instanceTypes"] = ["g5.xlarge", "g4dn.xlarge"]
    config["mlplat:cluster"] = json.dumps(cluster)
    with pytest.raises(SpecError, match=r"config\.cluster\.gpuNodes\.instanceTypes: mixes GPU"):
        load_environment("prod", config)
