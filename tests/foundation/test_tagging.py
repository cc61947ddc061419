"""The tag mechanism's logic, without an engine: ownership inheritance, merging, taggability."""

from __future__ import annotations

import pulumi_aws  # noqa: F401  registers the aws resource modules is_taggable looks up
import pulumi_eks  # noqa: F401

from infra.declarations.tags import Ownership
from infra.tagging import (
    OwnershipRegistry,
    TagTransform,
    child_urn,
    is_taggable,
    merge_tags,
    required_tags,
)

STACK = "urn:pulumi:dev::mlplat::pulumi:pulumi:Stack::mlplat-dev"


def test_child_urns_follow_the_engine_rule():
    component = child_urn(STACK, "mlplat:serving:MultiModelEndpoint", "mme")
    assert component == "urn:pulumi:dev::mlplat::mlplat:serving:MultiModelEndpoint::mme"
    assert child_urn(component, "aws:sagemaker/endpoint:Endpoint", "mme-endpoint") == (
        "urn:pulumi:dev::mlplat::mlplat:serving:MultiModelEndpoint$aws:sagemaker/endpoint:Endpoint::mme-endpoint"
    )


def test_owners_are_inherited_by_children_and_grandchildren():
    registry = OwnershipRegistry()
    registry.declare("mlplat:x:Model", "m", Ownership(team="fraud", model="m"))
    assert registry.resolve("mlplat:x:Model", "m", STACK) == Ownership(team="fraud", model="m")
    parent = child_urn(STACK, "mlplat:x:Model", "m")
    assert registry.resolve("mlplat:x:Inner", "inner", parent) == Ownership(team="fraud", model="m")
    grandchild_parent = child_urn(parent, "mlplat:x:Inner", "inner")
    assert registry.resolve("aws:s3/bucket:Bucket", "b", grandchild_parent).model == "m"
    assert registry.resolve("aws:s3/bucket:Bucket", "other", STACK) is None


def test_a_nested_component_can_narrow_its_owner():
    registry = OwnershipRegistry()
    registry.declare("mlplat:x:Team", "t", Ownership(team="fraud"))
    registry.declare("mlplat:x:Model", "m", Ownership(team="fraud", model="m"))
    team_urn = child_urn(STACK, "mlplat:x:Team", "t")
    registry.resolve("mlplat:x:Team", "t", STACK)
    assert registry.resolve("mlplat:x:Model", "m", team_urn) == Ownership(team="fraud", model="m")


def test_required_tags_and_merge():
    assert required_tags("dev", None) == {"mlplat:environment": "dev"}
    tags = required_tags("prod", Ownership(team="fraud", model="m"))
    assert tags == {"mlplat:environment": "prod", "mlplat:team": "fraud", "mlplat:model": "m"}
    merged = merge_tags({"cost-center": "42", "mlplat:team": "wrong"}, tags)
    assert merged["cost-center"] == "42" and merged["mlplat:team"] == "fraud"
    assert merge_tags(None, tags) == tags


def test_taggability_comes_from_the_provider_schema():
    assert is_taggable("aws:sagemaker/endpoint:Endpoint")
    assert is_taggable("aws:s3/bucket:Bucket")
    assert is_taggable("eks:index:Cluster")
    assert not is_taggable("aws:iam/rolePolicy:RolePolicy")  # no tags input in AWS
    assert not is_taggable("aws:autoscaling/group:Group")  # tags is a list there
    assert not is_taggable("kubernetes:core/v1:Namespace")
    assert not is_taggable("mlplat:serving:MultiModelEndpoint")


def test_the_transform_tags_only_taggable_resources():
    registry = OwnershipRegistry()
    registry.declare("mlplat:x:Model", "m", Ownership(team="growth", model="m"))
    transform = TagTransform("staging", registry)
    assert transform.tagged_props("mlplat:x:Model", "m", {}, STACK) is None
    parent = child_urn(STACK, "mlplat:x:Model", "m")
    props = transform.tagged_props(
        "aws:sagemaker/model:Model", "m-model", {"tags": {"a": "b"}}, parent
    )
    assert props["tags"] == {
        "a": "b",
        "mlplat:environment": "staging",
        "mlplat:team": "growth",
        "mlplat:model": "m",
    }
    assert transform.tagged_props("aws:iam/rolePolicy:RolePolicy", "p", {}, parent) is None


def test_children_inherit_from_a_component_the_transform_never_saw():
    registry = OwnershipRegistry()
    registry.declare("mlplat:x:Model", "m", Ownership(team="fraud", model="m"))
    parent = child_urn(STACK, "mlplat:x:Model", "m")  # not resolved: no transform call for it
    assert registry.resolve("aws:s3/bucket:Bucket", "m-b", parent) == Ownership("fraud", "m")
    nested = child_urn(child_urn(STACK, "mlplat:x:Team", "t"), "mlplat:x:Model", "m")
    assert nested == "urn:pulumi:dev::mlplat::mlplat:x:Team$mlplat:x:Model::m"
    assert registry.resolve("aws:s3/bucket:Bucket", "m-c", nested) == Ownership("fraud", "m")
    assert registry.resolve("aws:s3/bucket:Bucket", "other", child_urn(STACK, "x:y:Z", "z")) is None


def test_the_transform_answers_the_engines_callback_protocol():
    """Through the SDK's own callback servicer, as `pulumi up` invokes stack transforms: a
    serialized TransformRequest in, a TransformResponse out (parent as a URN only)."""
    import asyncio

    from google.protobuf import struct_pb2
    from pulumi.runtime import rpc
    from pulumi.runtime._callbacks import _CallbackServicer
    from pulumi.runtime.proto import resource_pb2

    async def scenario():
        servicer = _CallbackServicer(monitor=None)
        registry = OwnershipRegistry()
        registry.declare("mlplat:serving:HostedModel", "m", Ownership(team="growth", model="m"))
        token = servicer.register_transform(TagTransform("dev", registry)).token
        callback = servicer._callbacks[token]

        async def call(type_, name, parent, props, custom=True):
            struct = struct_pb2.Struct()
            struct.update(props)
            request = resource_pb2.TransformRequest(
                type=type_, name=name, custom=custom, parent=parent, properties=struct
            )
            reply = await callback(request.SerializeToString())
            response = resource_pb2.TransformResponse.FromString(reply.SerializeToString())
            return rpc.deserialize_properties(response.properties)

        try:
            parent = child_urn(STACK, "mlplat:serving:HostedModel", "m")
            archive = await call(
                "aws:s3/bucketObjectv2:BucketObjectv2", "m-a", parent, {"tags": {"a": "b"}}
            )
            policy = await call("aws:iam/rolePolicy:RolePolicy", "m-p", parent, {"policy": "{}"})
            return archive, policy
        finally:  # the servicer registers itself globally and owns an (unstarted) gRPC server
            _CallbackServicer._servicers.remove(servicer)
            await servicer._server.stop(None)

    # Its own loop, left unset: asyncio.run would clear the thread's current loop, which the
    # Pulumi SDK's synchronous helpers use in the tests after this one.
    loop = asyncio.new_event_loop()
    try:
        archive, policy = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert archive["tags"] == {
        "a": "b",
        "mlplat:environment": "dev",
        "mlplat:team": "growth",
        "mlplat:model": "m",
    }
    assert policy == {"policy": "{}"}  # not taggable: passed through unchanged
