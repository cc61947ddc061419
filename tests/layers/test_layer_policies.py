"""The layered stacks of dev pass the whole policy pack, as the single stack does."""

from __future__ import annotations

from mlplat.policy_check import check


def test_every_layered_stack_of_dev_passes_the_pack(layer_exports):
    for stack, document in layer_exports("dev").items():
        assert [(v.policy, v.urn) for v in check(document)] == [], stack
