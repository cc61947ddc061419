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


def test_the_sdk_class_is_found_for_each_type_token_and_none_for_unknown_ones():
    """is_taggable caches its answers, so the lookup behind it is also checked directly."""
    import pulumi_eks

    assert tagging._resource_class("aws:s3/bucket:Bucket") is pulumi_aws.s3.Bucket
    assert (
        tagging._resource_class("aws:sagemaker/endpoint:Endpoint") is pulumi_aws.sagemaker.Endpoint
    )
    assert tagging._resource_class("eks:index:Cluster") is pulumi_eks.Cluster
    assert tagging._resource_class("aws:s3/bucket:NoSuchResource") is None
    assert tagging._resource_class("aws:nosuchservice/thing:Thing") is None


# Pulumi allows any text in a resource name, "::" included, since pulumi/pulumi#14107: a URN is
# split at its first three "::" only (https://github.com/pulumi/pulumi/pull/14107).
@pytest.mark.parametrize(
    "name", ["m", "a::b", "team::model::v2", "copy-of-urn:pulumi:dev::p::t::n"]
)
def test_owners_pass_through_components_whose_names_contain_the_urn_delimiter(name):
    registry = OwnershipRegistry()
    registry.declare("mlplat:x:Model", name, Ownership(team="fraud", model="m"))
    parent = tagging.child_urn(STACK, "mlplat:x:Model", name)
    assert parent == f"urn:pulumi:dev::mlplat::mlplat:x:Model::{name}"
    inner = tagging.child_urn(parent, "mlplat:x:Inner", f"{name}-inner")
    assert inner == f"urn:pulumi:dev::mlplat::mlplat:x:Model$mlplat:x:Inner::{name}-inner"
    # the component itself never went through the transform: its owner comes from its URN
    assert registry.resolve("aws:s3/bucket:Bucket", "b", parent) == Ownership("fraud", "m")


def test_an_owner_is_found_through_any_depth_of_component_nesting():
    registry = OwnershipRegistry()
    registry.declare("mlplat:x:Model", "m", Ownership(team="fraud", model="m"))
    team = tagging.child_urn(STACK, "mlplat:x:Team", "t")
    outer = tagging.child_urn(team, "mlplat:x:Group", "g")
    model = tagging.child_urn(outer, "mlplat:x:Model", "m")
    assert "mlplat:x:Team$mlplat:x:Group$mlplat:x:Model::m" in model
    assert registry.resolve("aws:s3/bucket:Bucket", "b", model) == Ownership("fraud", "m")


def test_the_transform_gives_a_nested_component_its_own_narrower_owner():
    registry = OwnershipRegistry()
    registry.declare("mlplat:x:Team", "t", Ownership(team="fraud"))
    registry.declare("mlplat:x:Model", "m", Ownership(team="fraud", model="m"))
    transform = TagTransform("dev", registry)
    team = tagging.child_urn(STACK, "mlplat:x:Team", "t")
    model = tagging.child_urn(team, "mlplat:x:Model", "m")
    assert transform.tagged_props("mlplat:x:Team", "t", {}, STACK) is None
    assert transform.tagged_props("mlplat:x:Model", "m", {}, team) is None
    inner = tagging.child_urn(model, "mlplat:x:Inner", "i")
    assert transform.tagged_props("mlplat:x:Inner", "i", {}, model) is None
    bucket = transform.tagged_props("aws:s3/bucket:Bucket", "b", {}, inner)
    assert bucket["tags"] == {TAG_ENVIRONMENT: "dev", TAG_TEAM: "fraud", TAG_MODEL: "m"}
    # a sibling team resource keeps the team's broader owner
    other = transform.tagged_props("aws:s3/bucket:Bucket", "c", {}, team)
    assert other["tags"] == {TAG_ENVIRONMENT: "dev", TAG_TEAM: "fraud"}


def test_a_taggable_resource_declared_owned_is_tagged_with_its_own_owner():
    registry = OwnershipRegistry()
    registry.declare("aws:s3/bucket:Bucket", "data", Ownership(team="growth"))
    props = TagTransform("dev", registry).tagged_props("aws:s3/bucket:Bucket", "data", {}, STACK)
    assert props["tags"] == {TAG_ENVIRONMENT: "dev", TAG_TEAM: "growth"}


def test_the_engine_callback_keeps_options_and_tags_resources_without_a_parent():
    """Through the SDK's callback servicer, as in test_tagging.py: the response keeps the
    resource's options (the engine applies the response's options, so dropping them would drop
    e.g. ignoreChanges), and a resource registered without a parent still gets its tags."""
    import asyncio

    from google.protobuf import struct_pb2
    from pulumi.runtime import rpc
    from pulumi.runtime._callbacks import _CallbackServicer
    from pulumi.runtime.proto import resource_pb2

    async def scenario():
        servicer = _CallbackServicer(monitor=None)
        registry = OwnershipRegistry()
        registry.declare("aws:s3/bucket:Bucket", "data", Ownership(team="growth"))
        token = servicer.register_transform(TagTransform("dev", registry)).token
        struct = struct_pb2.Struct()
        struct.update({"bucket": "x"})
        request = resource_pb2.TransformRequest(
            type="aws:s3/bucket:Bucket",
            name="data",
            custom=True,
            parent="",
            properties=struct,
            options=resource_pb2.TransformResourceOptions(ignore_changes=["bucket"]),
        )
        try:
            reply = await servicer._callbacks[token](request.SerializeToString())
        finally:
            _CallbackServicer._servicers.remove(servicer)
            await servicer._server.stop(None)
        return resource_pb2.TransformResponse.FromString(reply.SerializeToString())

    loop = asyncio.new_event_loop()
    try:
        response = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert rpc.deserialize_properties(response.properties)["tags"] == {
        TAG_ENVIRONMENT: "dev",
        TAG_TEAM: "growth",
    }
    assert response.HasField("options")
    assert list(response.options.ignore_changes) == ["bucket"]
