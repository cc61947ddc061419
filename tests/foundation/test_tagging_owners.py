"""Tagging for owners of every shape: a team without a model, a model without a team, resources
with no parent, tags still unresolved (Outputs), and a fresh registry for each program run."""

from __future__ import annotations

import pulumi
import pulumi_aws  # noqa: F401  registers the aws resource modules is_taggable looks up
import pytest

from infra import tagging
from infra.declarations.tags import TAG_ENVIRONMENT, TAG_MODEL, TAG_TEAM, Ownership
from infra.tagging import OwnershipRegistry, TagTransform, is_taggable, merge_tags, required_tags

STACK = "urn:pulumi:dev::mlplat::pulumi:pulumi:Stack::mlplat-dev"


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        (None, {}),
        (Ownership(), {}),
        (Ownership(team="fraud"), {TAG_TEAM: "fraud"}),
        (Ownership(model="m"), {TAG_MODEL: "m"}),
        (Ownership(team="fraud", model="m"), {TAG_TEAM: "fraud", TAG_MODEL: "m"}),
    ],
)
def test_a_resource_carries_exactly_the_owner_parts_it_has(owner, expected):
    assert required_tags("staging", owner) == {TAG_ENVIRONMENT: "staging", **expected}


@pulumi.runtime.test
def test_tags_not_yet_known_are_merged_when_they_resolve():
    required = required_tags("dev", Ownership(team="fraud"))
    own = merge_tags(pulumi.Output.from_input({"a": "b", TAG_TEAM: "wrong"}), required)
    none = merge_tags(pulumi.Output.from_input(None), required)

    def check(values):
        assert values[0] == {"a": "b", TAG_ENVIRONMENT: "dev", TAG_TEAM: "fraud"}
        assert values[1] == required

    return pulumi.Output.all(own, none).apply(check)


def test_a_resource_without_a_parent_keeps_only_its_own_declaration():
    registry = OwnershipRegistry()
    registry.declare("mlplat:x:Team", "t", Ownership(team="fraud"))
    assert registry.resolve("mlplat:x:Team", "t", None) == Ownership(team="fraud")
    assert registry.resolve("aws:s3/bucket:Bucket", "b", None) is None
    transform = TagTransform("prod", registry)
    props = transform.tagged_props("aws:s3/bucket:Bucket", "b", {"bucket": "x"}, None)
    assert props == {"bucket": "x", "tags": {TAG_ENVIRONMENT: "prod"}}


def test_a_declared_owner_is_not_taken_for_a_resource_of_another_type_or_name():
    registry = OwnershipRegistry()
    registry.declare("mlplat:x:Model", "m", Ownership(team="fraud", model="m"))
    assert registry.resolve("mlplat:x:Model", "other", STACK) is None
    assert registry.resolve("mlplat:x:Other", "m", STACK) is None


def test_unknown_types_of_a_tagging_provider_are_not_tagged():
    assert not is_taggable("aws:nosuchservice/thing:Thing")
    assert not is_taggable("aws:s3/bucket:NoSuchResource")


def test_each_program_run_starts_a_fresh_registry_that_components_declare_into(monkeypatch):
    registered = []
    monkeypatch.setattr(pulumi.runtime, "register_resource_transform", registered.append)
    monkeypatch.setattr(tagging, "_registry", tagging._registry)  # restored after the test
    first = tagging.install("dev")
    assert registered == [first] and first.environment == "dev"
    tagging.declare_owner("mlplat:x:Model", "m", Ownership(team="fraud", model="m"))
    parent = tagging.child_urn(STACK, "mlplat:x:Model", "m")
    props = first.tagged_props("aws:s3/bucket:Bucket", "m-b", {}, parent)
    assert props["tags"][TAG_MODEL] == "m"
    second = tagging.install("prod")
    assert registered == [first, second] and second.registry is not first.registry
    props = second.tagged_props("aws:s3/bucket:Bucket", "m-b", {}, parent)
    assert props["tags"] == {TAG_ENVIRONMENT: "prod"}  # the earlier run's owners are gone
