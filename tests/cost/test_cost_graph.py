"""The resource graph the estimator and the plan diff read (cost_model/graph.py): what it keeps of
an export, what it refuses and how it says so, and the relations it answers (ancestors, regions,
models), from an export and from a policy pack's resources."""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

import pytest
from cost_exports import export, provider, resource, tags

from cost_model.graph import ExportError, Graph, read_export

KEY = "aws:kms/key:Key"


def test_an_export_keeps_each_resources_links_options_and_property_dependencies():
    key = resource(KEY, "key", {"description": "k"}, {"arn": "arn:k"})
    alias = resource(
        "aws:kms/alias:Alias", "alias", {"targetKeyId": "k"}, dependencies=[key["urn"]]
    )
    alias |= {
        "protect": True,
        "retainOnDelete": False,  # an option set to its default is not recorded
        "ignoreChanges": ["name"],
        "propertyDependencies": {"targetKeyId": [key["urn"]], "name": None},
    }
    document = export(key, alias)
    document["deployment"]["manifest"]["generator"] = "pulumi 3.140"
    graph = Graph.from_export(document)
    got = graph.by_urn[alias["urn"]]
    assert graph.generator == "pulumi 3.140"
    assert got.options == {"protect": True, "ignoreChanges": ["name"]}
    assert got.property_dependencies == {"targetKeyId": (key["urn"],), "name": ()}
    assert got.dependencies == (key["urn"],)
    assert got.provider_urn == provider()["urn"] and got.id == "alias-id"
    assert graph.by_urn[key["urn"]].outputs == {"arn": "arn:k"}
    assert graph.by_urn[key["urn"]].inputs == {"description": "k"}


def test_an_export_without_a_generator_says_none():
    document = export()
    del document["deployment"]["manifest"]
    assert Graph.from_export(document).generator == ""


@pytest.mark.parametrize(
    ("document", "found"),
    [({"version": 2}, "2"), ({}, "None"), ([], "<class 'list'>"), ("3", "<class 'str'>")],
)
def test_a_document_that_is_not_a_version_3_export_is_refused_saying_what_it_is(document, found):
    with pytest.raises(ExportError) as error:
        Graph.from_export(document)
    assert str(error.value) == (
        f"expected a `pulumi stack export` document with version 3, found version {found}"
    )


@pytest.mark.parametrize(
    "deployment", [None, {}, {"resources": {}}, {"resources": None}, {"manifest": {}}]
)
def test_an_export_without_a_list_of_resources_is_refused(deployment):
    with pytest.raises(ExportError) as error:
        Graph.from_export({"version": 3, "deployment": deployment})
    assert str(error.value) == "the export has no deployment.resources list"


@pytest.mark.parametrize("part", ["inputs", "outputs"])
def test_a_resource_entry_that_is_not_well_formed_is_named_by_its_index(part):
    good = resource(KEY, "good")
    with pytest.raises(ExportError) as error:
        Graph.from_export(export(good, {"type": KEY}))
    assert str(error.value) == "deployment.resources[3] has no urn or type"
    broken = resource(KEY, "broken") | {part: ["not", "an", "object"]}
    with pytest.raises(ExportError) as error:
        Graph.from_export(export(good, broken))
    assert str(error.value) == (
        f"deployment.resources[3].{part} is not an object ({broken['urn']})"
    )


def test_an_export_file_is_read_and_a_bad_one_is_an_export_error(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export()))
    assert Graph.from_export(read_export(path)).default_region() == "us-east-1"
    path.write_text("{nope")
    with pytest.raises(ExportError, match=r"^not JSON: Expecting property name"):
        read_export(path)
    with pytest.raises(ExportError, match=r"^not JSON: .*No such file"):
        read_export(tmp_path / "absent.json")


def test_ancestors_are_the_parent_chain_nearest_first_and_stop_at_a_cycle_or_a_gap():
    top = resource("mlplat:x:Top", "top", custom=False)
    middle = resource("mlplat:x:Middle", "middle", parent=top["urn"], custom=False)
    leaf = resource(KEY, "leaf", parent=middle["urn"])
    orphan = resource(KEY, "orphan", parent="urn:pulumi:dev::mlplat::gone::gone")
    graph = Graph.from_export(export(top, middle, leaf, orphan))
    names = [r.name for r in graph.ancestors(graph.by_urn[leaf["urn"]])]
    assert names == ["middle", "top", "mlplat-dev"]  # the stack is the root
    assert list(graph.ancestors(graph.by_urn[orphan["urn"]])) == []
    a = resource("mlplat:x:A", "a", parent=resource("mlplat:x:B", "b")["urn"], custom=False)
    b = resource("mlplat:x:B", "b", parent=a["urn"], custom=False)
    looped = Graph.from_export(export(a, b))
    found = list(itertools.islice(looped.ancestors(looped.by_urn[a["urn"]]), 10))
    assert [r.name for r in found] == ["b", "a"]


def test_the_models_are_those_tagged_on_resources():
    graph = Graph.from_export(
        export(
            resource(KEY, "a", {"tags": tags(model="churn")}),
            resource(KEY, "b", {"tags": tags(model="fraud")}),
            resource(KEY, "c", {"tags": tags(team="growth")}),
            resource(KEY, "d", {"tags": {**tags(), "mlplat:model": ""}}),
        )
    )
    assert graph.models() == {"churn", "fraud"}


def test_the_default_region_is_the_default_providers_not_an_explicit_ones():
    explicit = provider("eu", region="eu-west-1")
    document = export(resource(KEY, "k", provider_entry=explicit))
    resources = document["deployment"]["resources"]
    resources.insert(1, explicit)  # listed before the default provider
    graph = Graph.from_export(document)
    assert graph.default_region() == "us-east-1"
    assert graph.region_of(graph.by_urn[resources[-1]["urn"]]) == "eu-west-1"
    assert Graph.from_export(export(region=None)).default_region() is None


def test_a_graph_from_a_policy_packs_resources_keeps_providers_parents_and_dependencies():
    def policy_resource(urn, type_, props, parent=None, dependencies=(), provider=None):
        return SimpleNamespace(
            urn=urn,
            resource_type=type_,
            props=props,
            parent=parent,
            dependencies=list(dependencies),
            provider=provider,
        )

    aws = policy_resource("urn:p", "pulumi:providers:aws", {"region": "eu-west-1"})
    parent = policy_resource("urn:parent", "mlplat:x:Parent", {})
    dependency = policy_resource("urn:dep", KEY, {}, provider=aws)
    child = policy_resource(
        "urn:child", KEY, {"tags": tags(model="m")}, parent, [dependency], provider=aws
    )
    graph = Graph.from_policy_resources([parent, dependency, child])
    got = graph.by_urn["urn:child"]
    assert (got.parent, got.dependencies, got.provider_urn) == ("urn:parent", ("urn:dep",), "urn:p")
    assert graph.region_of(got) == "eu-west-1"  # the provider, a node of its own
    assert [r.urn for r in graph.ancestors(got)] == ["urn:parent"]
    assert graph.models() == {"m"}
    top = graph.by_urn["urn:parent"]
    assert (top.parent, top.provider_urn, graph.region_of(top)) == (None, None, None)
