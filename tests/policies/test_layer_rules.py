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


# --- stack-resource-budget: every stack of a document judged on its own count -----------------

BUDGET_RULE = "stack-resource-budget"


def _document_of(counts: dict[str, int]) -> dict:
    """One document with ``count`` resources (the stack and provider included) in each stack."""
    resources = []
    for stack, count in counts.items():
        base = export(stack=stack)["deployment"]["resources"]
        extra = [in_stack(kms_key(), stack) for _ in range(count - len(base))]
        for index, entry in enumerate(extra):
            entry["urn"] += f"-{index}"
        resources += base + extra
    document = export()
    document["deployment"]["resources"] = resources
    return document


def budget_violations(counts: dict[str, int], limit: int):
    config = {BUDGET_RULE: {"maxResources": limit}}
    return check(_document_of(counts), policies=[policy_named(BUDGET_RULE)], config=config)


def test_a_stack_at_the_budget_passes_and_one_over_it_is_named():
    assert budget_violations({"dev.serving.fraud": 40}, limit=40) == []
    found = budget_violations({"dev.serving.fraud": 41, "dev.serving.growth": 40}, limit=40)
    assert [v.policy for v in found] == [BUDGET_RULE]
    assert "stack dev.serving.fraud holds 41 resources, over the budget of 40" in found[0].message


def test_stacks_previewed_together_are_counted_apart():
    assert budget_violations({"dev.platform": 30, "dev.serving.fraud": 30}, limit=40) == []


def test_the_default_budget_is_issue_13s():
    from policies.rules.layers import BUDGET_CONFIG

    assert BUDGET_CONFIG["maxResources"]["default"] == 1500
    assert check(_document_of({"dev": 1501}), policies=[policy_named(BUDGET_RULE)])
