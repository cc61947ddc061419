"""The offline preview of every stack, and its export in the shape of `pulumi stack export` v3."""

from __future__ import annotations

import hashlib
import json

import pytest

from infra.declarations import SpecError
from infra.declarations.tags import TAG_ENVIRONMENT, TAG_MODEL, TAG_TEAM
from infra.loader import load_environment, read_stack_config
from infra.tagging import is_taggable
from mlplat.offline import engine
from mlplat.offline.export import dumps, to_document
from mlplat.offline.monitor import SIG_KEY
from tests.conftest import STACKS

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's marker for an unknown value
FIELDS = {
    "urn",
    "custom",
    "type",
    "inputs",
    "outputs",
    "protect",
    "dependencies",
    "propertyDependencies",
    "ignoreChanges",
    "retainOnDelete",
    "deleteBeforeReplace",
    "aliases",
}


def resources(document):
    return document["deployment"]["resources"]


@pytest.mark.parametrize("stack", STACKS)
def test_export_has_the_shape_of_a_stack_export(stack, stack_export):
    document = stack_export(stack)
    assert document["version"] == 3
    assert set(document["deployment"]["manifest"]) >= {"time", "magic", "version"}
    entries = resources(document)
    assert entries[0]["type"] == "pulumi:pulumi:Stack"
    assert entries[0]["urn"] == f"urn:pulumi:{stack}::mlplat::pulumi:pulumi:Stack::mlplat-{stack}"
    urns = {entry["urn"] for entry in entries}
    for entry in entries:
        assert set(entry) >= FIELDS, entry["urn"]
        assert entry["urn"].startswith(f"urn:pulumi:{stack}::mlplat::")
        if entry["custom"] and not entry["type"].startswith("pulumi:providers:"):
            assert entry["id"], entry["urn"]
            provider_urn = entry["provider"].rsplit("::", 1)[0]
            assert provider_urn in urns, f"{entry['urn']} uses an unknown provider"
        if "parent" in entry:
            assert entry["parent"] in urns
        for dependency in entry["dependencies"]:
            assert dependency in urns


@pytest.mark.parametrize("stack", STACKS)
def test_state_is_ordered_dependencies_first(stack, stack_export):
    seen: set[str] = set()
    for entry in resources(stack_export(stack)):
        for prerequisite in [entry.get("parent"), *entry["dependencies"]]:
            assert prerequisite is None or prerequisite in seen, entry["urn"]
        seen.add(entry["urn"])


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_are_fully_resolved(stack, stack_export):
    text = json.dumps(stack_export(stack))
    assert UNKNOWN not in text
    for entry in resources(stack_export(stack)):
        for key in ("policy", "assumeRolePolicy", "dashboardBody"):
            value = entry["inputs"].get(key)
            if isinstance(value, str):
                json.loads(value)  # a whole document, not a placeholder


@pytest.mark.parametrize("stack", STACKS)
def test_every_taggable_resource_carries_the_platform_tags(stack, stack_export):
    entries = resources(stack_export(stack))
    taggable = [e for e in entries if is_taggable(e["type"])]
    assert taggable
    for entry in taggable:
        assert entry["inputs"]["tags"][TAG_ENVIRONMENT] == stack, entry["urn"]
    # Resources of a team's endpoint carry the team; a model's own resources carry the model.
    endpoint_children = [e for e in taggable if "mlplat:serving:MultiModelEndpoint$" in e["urn"]]
    assert endpoint_children and all(TAG_TEAM in e["inputs"]["tags"] for e in endpoint_children)
    model_owned = [e for e in taggable if TAG_MODEL in e["inputs"]["tags"]]
    for entry in model_owned:
        assert entry["inputs"]["tags"][TAG_TEAM], entry["urn"]


def test_identifiers_have_aws_formats(stack_export):
    by_type: dict[str, list[dict]] = {}
    for entry in resources(stack_export("dev")):
        by_type.setdefault(entry["type"], []).append(entry)
    for bucket in by_type["aws:s3/bucket:Bucket"]:
        assert bucket["outputs"]["arn"] == f"arn:aws:s3:::{bucket['outputs']['bucket']}"
    for role in by_type["aws:iam/role:Role"]:
        assert role["outputs"]["arn"].startswith("arn:aws:iam::123456789012:role/")
    for endpoint in by_type["aws:sagemaker/endpoint:Endpoint"]:
        name = endpoint["outputs"]["name"]
        assert (
            endpoint["outputs"]["arn"]
            == f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name.lower()}"
        )
    for key in by_type["aws:kms/key:Key"]:
        assert key["outputs"]["arn"] == f"arn:aws:kms:us-east-1:123456789012:key/{key['id']}"


def test_resource_options_are_kept(stack_export):
    prod = resources(stack_export("prod"))
    keys = [e for e in prod if e["type"] == "aws:kms/key:Key"]
    assert keys and all(e["protect"] and e["retainOnDelete"] for e in keys)
    dev_keys = [e for e in resources(stack_export("dev")) if e["type"] == "aws:kms/key:Key"]
    assert dev_keys and not any(e["protect"] for e in dev_keys)
    assert any(e["ignoreChanges"] for e in prod), "something the autoscaler owns is ignored"


def test_two_runs_give_identical_exports():
    first = dumps(to_document(engine.capture_stack("staging")))
    second = dumps(to_document(engine.capture_stack("staging")))
    assert first == second


def test_secrets_are_written_as_show_secrets_does():
    from google.protobuf import struct_pb2

    from mlplat.offline.monitor import SECRET_SIG, plain_json

    struct = struct_pb2.Struct()
    struct.update({"password": {SIG_KEY: SECRET_SIG, "value": "hunter2"}, "count": 2.0})
    assert plain_json(struct) == {
        "password": {SIG_KEY: SECRET_SIG, "plaintext": "hunter2"},
        "count": 2,
    }


def test_a_bad_stack_fails_before_any_resource_is_registered(monkeypatch):
    def no_engine(*args, **kwargs):
        raise AssertionError("the engine must not start for an invalid stack")

    monkeypatch.setattr(engine, "set_mocks", no_engine)
    config = engine.read_stack_config("dev")
    config["mlplat:budget"] = json.dumps({"monthlyBudgetUsd": -1, "alertEmails": ["a@b.co"]})
    with pytest.raises(SpecError) as caught:
        engine.capture_stack("dev", config=config)
    assert [p.path for p in caught.value.problems] == ["config.budget.monthlyBudgetUsd"]


def test_file_assets_carry_their_content_hash_and_a_project_relative_path(tmp_path):
    from google.protobuf import struct_pb2

    from infra.project import PROJECT_ROOT
    from mlplat.offline.monitor import ASSET_SIG, plain_json

    inside = PROJECT_ROOT / "pyproject.toml"
    outside = tmp_path / "model.tar.gz"
    outside.write_bytes(b"archive")
    struct = struct_pb2.Struct()
    struct.update(
        {
            "a": {SIG_KEY: ASSET_SIG, "path": str(inside)},
            "b": {SIG_KEY: ASSET_SIG, "path": str(outside)},
        }
    )
    assets = plain_json(struct)
    assert assets["a"]["path"] == "pyproject.toml"
    assert assets["b"]["path"] == str(outside)
    assert assets["b"]["hash"] == hashlib.sha256(b"archive").hexdigest()


def test_resources_of_an_explicit_provider_live_in_its_region(stack_export):
    prod = resources(stack_export("prod"))
    providers = {e["urn"]: e for e in prod if e["type"] == "pulumi:providers:aws"}
    for entry in prod:
        arn = entry.get("outputs", {}).get("arn", "")
        provider = providers.get(entry.get("provider", "").rsplit("::", 1)[0])
        if provider and provider["inputs"].get("region") and arn.startswith("arn:aws:sns:"):
            assert arn.split(":")[3] == provider["inputs"]["region"], entry["urn"]
    regions = {
        arn.split(":")[3]
        for e in prod
        if (arn := e.get("outputs", {}).get("arn", "")).startswith("arn:aws:sns:")
    }
    assert regions == {"us-west-2", "us-east-1"}  # prod's region, and the billing alarm's


def test_an_oidc_provider_is_named_by_its_issuer(stack_export):
    providers = [
        e
        for e in resources(stack_export("dev"))
        if e["type"] == "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
    ]
    assert providers
    for provider in providers:
        issuer = provider["inputs"]["url"].removeprefix("https://")
        assert provider["outputs"]["arn"] == f"arn:aws:iam::123456789012:oidc-provider/{issuer}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_models_own_resources_carry_its_name(stack, stack_export):
    """Each model's component (hosted on an endpoint, or on EKS) passes the model tag down."""
    entries = resources(stack_export(stack))
    owners = {
        e["urn"]: e["outputs"]["model"]
        for e in entries
        if e["type"] == "mlplat:serving:HostedModel"
    } | {
        e["urn"]: e["urn"].rsplit("::", 1)[-1].removeprefix(f"mlplat-{stack}-")
        for e in entries
        if e["type"] == "mlplat:eks_model:EksModel"
    }
    declared = load_environment(stack, read_stack_config(stack)).models
    assert sorted(owners.values()) == sorted(model.name for model in declared)  # each once
    owned = [e for e in entries if e.get("parent") in owners and is_taggable(e["type"])]
    assert {owners[e["parent"]] for e in owned} == set(owners.values())
    for entry in owned:
        assert entry["inputs"]["tags"][TAG_MODEL] == owners[entry["parent"]], entry["urn"]
