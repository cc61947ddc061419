"""Layer rule: a serving stack may not create platform resources (VPCs, clusters, KMS keys, ...)."""

from __future__ import annotations

import pytest
from policy_cases import eks_component_cluster, export, in_stack, kms_key, table

from mlplat.policy_check import check
from policies.registry import policy_named
from policies.rules.layers import PLATFORM_TYPES

RULE = "serving-stack-no-platform-resources"


def violations(entry: dict, stack: str):
    return check(export(entry, stack=stack), policies=[policy_named(RULE)])


@pytest.mark.parametrize("factory", [kms_key, eks_component_cluster, table])
@pytest.mark.parametrize("stack", ["prod.serving.fraud", "dev.serving.growth"])
def test_a_platform_resource_in_a_serving_stack_is_refused(factory, stack):
    entry = in_stack(factory(), stack)
    assert entry["type"] in PLATFORM_TYPES
    found = violations(entry, stack)
    assert {v.policy for v in found} == {RULE}
    assert all(v.enforcement == "mandatory" for v in found)


@pytest.mark.parametrize("stack", ["prod", "prod.platform", "dev.platform"])
@pytest.mark.parametrize("factory", [kms_key, eks_component_cluster, table])
def test_the_platform_and_single_stacks_may_hold_them(factory, stack):
    assert violations(in_stack(factory(), stack), stack) == []
