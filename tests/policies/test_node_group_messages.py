"""The node group and launch template rules: what each says, where (which resource), and the
defaults they assume when a setting is left out."""

from __future__ import annotations

import pytest
from policy_cases import (
    DELETE,
    changed,
    export,
    gpu_node_group,
    launch_template,
    node_group,
    spot_node_group,
    with_launch_template,
)

from mlplat.policy_check import check
from policies.registry import policy_named

AWS_NG, COMPONENT_NG = "aws:eks/nodeGroup:NodeGroup", "eks:index:ManagedNodeGroup"


def found(rule: str, *entries: dict) -> list[tuple[str, str]]:
    """(resource name, message) of each violation, in the order reported."""
    violations = check(export(*entries), policies=[policy_named(rule)])
    return [(v.urn.rsplit("::", 1)[-1], v.message) for v in violations]


# EC2's default for httpTokens is "optional" (IMDSv1 on) when the launch template leaves it out
# (EC2 API reference, LaunchTemplateInstanceMetadataOptionsRequest.HttpTokens: "Default: optional").
@pytest.mark.parametrize(
    ("path", "value", "tokens"),
    [
        ("metadataOptions.httpTokens", "optional", "optional"),
        ("metadataOptions.httpTokens", DELETE, "optional"),
        ("metadataOptions", DELETE, "optional"),
    ],
)
def test_a_launch_template_says_which_http_tokens_it_has(path, value, tokens):
    template = changed(launch_template(), path, value)
    assert found("launch-template-imdsv2", template) == [
        ("system-lt", f"metadataOptions.httpTokens is {tokens}")
    ]


def test_every_node_group_without_imdsv2_is_named_at_its_own_urn():
    """Groups judged after one that passes by enableIMDSv2, or after one already reported."""
    template = launch_template()
    by_flag = changed(node_group(COMPONENT_NG, "flagged"), "launchTemplate", DELETE)
    by_flag = changed(by_flag, "enableIMDSv2", True)
    bare = [changed(node_group(AWS_NG, name), "launchTemplate", DELETE) for name in ("a", "b")]
    good = with_launch_template(node_group(AWS_NG, "good"), template)
    outside = node_group(AWS_NG, "outside", launchTemplate={"id": "lt-elsewhere", "version": "1"})
    assert found("nodegroup-imdsv2", template, by_flag, *bare, good, outside) == [
        ("a", "no launch template: EKS's default one leaves IMDSv1 on"),
        ("b", "no launch template: EKS's default one leaves IMDSv1 on"),
        ("outside", "its launch template is not part of this stack, IMDSv2 cannot be verified"),
    ]


@pytest.mark.parametrize(
    ("scaling", "messages"),
    [
        ({"minSize": 1, "desiredSize": 1}, ["scalingConfig.maxSize is not set"]),
        (
            {"minSize": 7, "maxSize": 6, "desiredSize": 7},
            [
                "scalingConfig.minSize 7 > maxSize 6",
                "scalingConfig.desiredSize 7 outside [7, 6]",
            ],
        ),
        (
            {"minSize": 2, "maxSize": 6, "desiredSize": 1},
            ["scalingConfig.desiredSize 1 outside [2, 6]"],
        ),
        # without minSize, the lower bound is 0
        ({"maxSize": 6, "desiredSize": 7}, ["scalingConfig.desiredSize 7 outside [0, 6]"]),
        ({"maxSize": 6, "desiredSize": 0}, []),
    ],
)
def test_a_node_group_size_problem_says_which_bound(scaling, messages):
    group = changed(node_group(AWS_NG), "scalingConfig", scaling)
    assert [message for _, message in found("nodegroup-size-cap", group)] == messages


def test_a_gpu_group_without_the_taint_and_a_narrow_spot_group_say_so():
    gpu = changed(gpu_node_group(AWS_NG), "taints", [])
    assert found("nodegroup-gpu-taint", gpu) == [
        ("gpu", "GPU node group without the nvidia.com/gpu:NO_SCHEDULE taint")
    ]
    spot = changed(spot_node_group(AWS_NG), "instanceTypes", ["m5.xlarge", "m5.xlarge"])
    assert found("nodegroup-spot-diversity", spot) == [
        ("spot", "spot node group has 1 instance type(s) ['m5.xlarge']; needs 3")
    ]
