"""Every resource type the stacks create, single or layered, has its replace-on-change rule (or
a stated reason why the table does not judge it): a type missing there would always preview as an
update, whatever the provider does."""

from __future__ import annotations

import json

import pytest

from mlplat.replacements import never_replaced, rules
from tests.conftest import STACKS
from tests.layers.conftest import resources


def _custom_types(document: dict) -> set[str]:
    return {r["type"] for r in resources(document) if r.get("custom")}


@pytest.mark.parametrize("environment", STACKS)
def test_every_type_an_environment_creates_is_judged(stack_export, layer_exports, environment):
    created = _custom_types(stack_export(environment))
    for document in layer_exports(environment).values():
        created |= _custom_types(document)
    judged = set(rules()) | set(never_replaced())
    assert created - judged == set()


def test_what_remote_components_create_under_the_real_engine_is_judged():
    """Offline exports show a remote component (pulumi-eks) only as itself; the real engine
    creates its children, whose changes `pulumi preview` judges with these same rules."""
    with open("policies/provider_actions.json") as file:
        components = json.load(file)["components"]
    children = {child for types in components.values() for child in types}
    assert children - set(rules()) == set()


def test_the_table_judges_no_type_twice_and_gives_every_exception_a_reason():
    assert set(rules()).isdisjoint(never_replaced())
    assert all(reason.strip() for reason in never_replaced().values())
