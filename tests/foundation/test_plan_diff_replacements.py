"""Replacements in the plan diff: the force-new table (`mlplat/replace_on_changes.json`), what a
change to such an input does, and what a replacement does to the resources that reference it."""

from __future__ import annotations

import copy
import importlib
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cost_model.graph import Graph
from mlplat.cli import app
from mlplat.plan_diff import Change, diff
from mlplat.replacements import EVERY_INPUT, rules

MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"


def _entries(document: dict) -> list[dict]:
    return document["deployment"]["resources"]


def _first(document: dict, type_: str) -> dict:
    return next(r for r in _entries(document) if r["type"] == type_)


def _plan(base: dict, new: dict) -> dict[str, object]:
    return {c.urn: c for c in diff(Graph.from_export(base), Graph.from_export(new)).changes}


# --- the table -----------------------------------------------------------------------------


def _args_class(type_: str) -> type:
    """The SDK's input class of a type token, from the module that defines the resource (a
    nested input type may share the name): aws:sagemaker/model:Model -> ModelArgs beside
    pulumi_aws.sagemaker.Model; kubernetes:apps/v1:Deployment -> DeploymentInitArgs."""
    package, module, name = type_.split(":")
    if package == "aws":
        namespace = importlib.import_module(f"pulumi_aws.{module.split('/')[0]}")
    elif package == "grafana":  # pulumiverse-grafana: grafana:oss/folder:Folder
        namespace = importlib.import_module(f"pulumiverse_grafana.{module.split('/')[0]}")
    else:
        group, version = module.split("/")
        namespace = importlib.import_module(f"pulumi_kubernetes.{group.split('.')[0]}.{version}")
    defining = sys.modules[getattr(namespace, name).__module__]
    return getattr(defining, f"{name}InitArgs", None) or getattr(defining, f"{name}Args")


def _inputs(cls: type) -> dict[str, object]:
    from pulumi._types import _py_properties

    return {pulumi_name: prop for _, pulumi_name, prop in _py_properties(cls)}


_NESTED = re.compile(r"ForwardRef\('([\w.]+Args)'\)")


def _nested_class(owner: type, prop: object) -> type:
    """The input class a property holds (its annotation names it, relative to the SDK)."""
    (name,) = set(_NESTED.findall(repr(prop.fget.__annotations__["return"])))
    if "." in name:  # '_meta.v1.ObjectMetaArgs', relative to the SDK's root package
        root = owner.__module__.split(".")[0]
        *modules, cls = name.lstrip("_").split(".")
        return getattr(importlib.import_module(".".join([root, *modules])), cls)
    return getattr(sys.modules[owner.__module__], name)


@pytest.mark.parametrize("type_", sorted(rules()))
def test_every_entry_names_inputs_of_its_type_and_its_source(type_):
    rule = rules()[type_]
    assert rule.source.split()[0] in {
        "hashicorp/terraform-provider-aws",
        "pulumi/pulumi-kubernetes",
        "grafana/terraform-provider-grafana",
    }, rule.source
    for path in rule.paths:
        if path == EVERY_INPUT:
            continue
        cls = _args_class(type_)
        steps = path.split(".")
        for index, step in enumerate(steps):
            inputs = _inputs(cls)
            assert step in inputs, f"{type_}: {path}: no input {step!r} in {cls.__name__}"
            if index < len(steps) - 1:
                cls = _nested_class(cls, inputs[step])


def test_every_type_in_the_provider_action_table_is_judged():
    actions = json.loads(Path("policies/provider_actions.json").read_text())
    assert set(actions["types"]) <= set(rules())


# --- what a change to one resource is ------------------------------------------------------


@pytest.mark.parametrize(
    "type_", [t for t, rule in sorted(rules().items()) if EVERY_INPUT in rule.paths]
)
def test_an_immutable_type_updates_its_tags_and_replaces_on_any_other_input(stack_export, type_):
    base = stack_export("dev")
    tagged, edited = copy.deepcopy(base), copy.deepcopy(base)
    resource = _first(tagged, type_)
    resource["inputs"]["tags"] = {**resource["inputs"]["tags"], "owner": "someone-else"}
    change = _plan(base, tagged)[resource["urn"]]
    assert (change.kind, change.replace_on) == (Change.UPDATE, ())

    other = next(k for k in sorted(_first(edited, type_)["inputs"]) if k != "tags")
    _first(edited, type_)["inputs"][other] = "changed"
    change = _plan(base, edited)[resource["urn"]]
    assert (change.kind, change.keys, change.replace_on) == (Change.REPLACE, (other,), (other,))


def test_a_new_name_replaces_and_a_new_configuration_updates_an_endpoint(stack_export):
    base = stack_export("dev")
    renamed, moved = copy.deepcopy(base), copy.deepcopy(base)
    endpoint = _first(renamed, ENDPOINT)
    endpoint["inputs"]["name"] += "-2"
    assert _plan(base, renamed)[endpoint["urn"]].kind is Change.REPLACE
    _first(moved, ENDPOINT)["inputs"]["endpointConfigName"] = "another-config"
    change = _plan(base, moved)[endpoint["urn"]]
    assert (change.kind, change.keys) == (Change.UPDATE, ("endpointConfigName",))


def test_a_kubernetes_name_or_selector_replaces_a_label_updates(stack_export):
    base = stack_export("dev")
    cases = {
        ("metadata", "name"): Change.REPLACE,
        ("spec", "selector"): Change.REPLACE,
        ("metadata", "labels"): Change.UPDATE,
    }
    for (outer, inner), kind in cases.items():
        new = copy.deepcopy(base)
        deployment = _first(new, "kubernetes:apps/v1:Deployment")
        deployment["inputs"][outer][inner] = {"changed": "yes"} if inner != "name" else "other"
        change = _plan(base, new)[deployment["urn"]]
        assert change.kind is kind, (outer, inner)
        assert change.replace_on == ((f"{outer}.{inner}",) if kind is Change.REPLACE else ())


def test_the_replace_on_changes_option_forces_a_replacement(stack_export):
    base = stack_export("dev")
    policy = _first(base, "aws:iam/rolePolicy:RolePolicy")
    policy["replaceOnChanges"] = ["policy"]
    new = copy.deepcopy(base)
    _first(new, "aws:iam/rolePolicy:RolePolicy")["inputs"]["policy"] = "{}"
    change = _plan(base, new)[policy["urn"]]
    assert (change.kind, change.replace_on) == (Change.REPLACE, ("policy",))


# --- what a replacement does to the resources that reference it ----------------------------


def test_a_replaced_model_replaces_its_configuration_which_moves_its_endpoint(stack_export):
    base = stack_export("dev")
    new = copy.deepcopy(base)
    model = _first(new, MODEL)
    model["inputs"]["primaryContainer"]["image"] = "another-image"
    plan = _plan(base, new)
    config = next(
        r for r in _entries(new) if r["type"] == CONFIG and model["urn"] in r["dependencies"]
    )
    endpoint = next(
        r for r in _entries(new) if r["type"] == ENDPOINT and config["urn"] in r["dependencies"]
    )
    assert (plan[model["urn"]].kind, plan[model["urn"]].because) == (Change.REPLACE, ())
    # The configuration names the model: a new (auto-)name is a new configuration.
    assert plan[config["urn"]].kind is Change.REPLACE
    assert plan[config["urn"]].replace_on == ("productionVariants",)
    assert plan[config["urn"]].because == (model["urn"],)
    # The endpoint takes the new configuration's name in place: an update (a blue/green swap).
    assert (plan[endpoint["urn"]].kind, plan[endpoint["urn"]].keys) == (
        Change.UPDATE,
        ("endpointConfigName",),
    )
    assert plan[endpoint["urn"]].because == (config["urn"],)
    assert len(plan) == 3  # nothing else holds the model's, or the configuration's, identity


def test_a_replaced_launch_template_replaces_the_node_groups_that_use_its_id(stack_export):
    base = stack_export("dev")
    new = copy.deepcopy(base)
    template = _first(new, "aws:ec2/launchTemplate:LaunchTemplate")
    template["inputs"]["name"] = "another-name"
    plan = _plan(base, new)
    groups = [
        r
        for r in _entries(new)
        if r["type"] == "aws:eks/nodeGroup:NodeGroup"
        and template["urn"] in r["propertyDependencies"].get("launchTemplate", [])
    ]
    assert groups
    for group in groups:
        change = plan[group["urn"]]
        assert (change.kind, change.replace_on) == (Change.REPLACE, ("launchTemplate.id",))
        assert change.because == (template["urn"],)


def test_a_replacement_that_keeps_its_explicit_name_leaves_its_references_alone(stack_export):
    """A table named explicitly keeps its name (and ID, and ARN) when replaced: the items that
    name it change nothing."""
    base = stack_export("dev")
    new = copy.deepcopy(base)
    item = _first(new, "aws:dynamodb/tableItem:TableItem")
    (table_urn,) = item["propertyDependencies"]["tableName"]
    table = next(r for r in _entries(new) if r["urn"] == table_urn)
    assert table["inputs"]["name"] == item["inputs"]["tableName"]
    table["inputs"]["hashKey"] = "another-key"
    plan = _plan(base, new)
    assert plan[table_urn].kind is Change.REPLACE
    assert item["urn"] not in plan


def test_a_replaced_auto_named_role_moves_every_policy_that_names_it(stack_export):
    base = stack_export("dev")
    new = copy.deepcopy(base)
    holders = defaultdict(list)
    for resource in _entries(new):
        for key, urns in (resource.get("propertyDependencies") or {}).items():
            for urn in urns:
                holders[urn].append((resource["urn"], key))
    role = next(
        r
        for r in _entries(new)
        if r["type"] == "aws:iam/role:Role"
        and "name" not in r["inputs"]
        and any(k == "role" for _, k in holders[r["urn"]])
    )
    role["inputs"]["path"] = "/elsewhere/"
    plan = _plan(base, new)
    assert plan[role["urn"]].replace_on == ("path",)
    attached = [urn for urn, key in holders[role["urn"]] if key == "role"]
    for urn in attached:  # the role's name is a force-new input of its policies
        assert plan[urn].kind is Change.REPLACE and role["urn"] in plan[urn].because


# --- the example, on whatever prod declares ----------------------------------------


def _without(model: str, declared: list):
    """The stack's entries without ``model`` (each preview edits the stack file's own list)."""
    return lambda _: [d for d in declared if _name(d) != model]


def _name(declared) -> str:
    """A stack's entry is a declaration or an override of one."""
    return getattr(declared, "name", None) or declared.base.name


def test_removing_a_model_from_a_shared_endpoint_shows_its_configuration_replaced(
    stack_export, preview_with_models
):
    """A shared endpoint's settings are aggregated over its models: removing the model that sets
    one replaces the configuration the other models are served from, and swaps the endpoint."""
    from components.serving.placement import read_placement_lock
    from stacks import prod

    hosted = defaultdict(list)
    for model, endpoint in read_placement_lock("prod").models.items():
        hosted[endpoint].append(model)
    shared = {endpoint: models for endpoint, models in hosted.items() if len(models) > 1}
    if not shared:
        pytest.skip("prod places no two models on one endpoint")
    base = Graph.from_export(stack_export("prod"))
    declared = list(prod.models)  # as the stack file has them, before any edit below
    for endpoint, models in sorted(shared.items()):
        config = next(r for r in base.of_type(CONFIG) if (r.parent or "").endswith(f"::{endpoint}"))
        for removed in sorted(models):
            after = preview_with_models("prod", _without(removed, declared))
            plan = {c.urn: c for c in diff(base, Graph.from_export(after)).changes}
            if config.urn not in plan:
                continue  # this model sets none of the endpoint's settings
            assert plan[config.urn].kind is Change.REPLACE, (removed, plan[config.urn].keys)
            assert plan[config.urn].replace_on
            (moved,) = (
                c for c in plan.values() if c.resource.type == ENDPOINT and config.urn in c.because
            )
            assert moved.kind is Change.UPDATE and moved.keys == ("endpointConfigName",)
            return
    pytest.skip("no removal changes a shared endpoint's configuration")


# --- what the preview prints ---------------------------------------------------------------


def _preview_against(tmp_path, base: dict, *options: str):
    path = tmp_path / "base.json"
    path.write_text(json.dumps(base))
    return CliRunner().invoke(
        app,
        ["preview", "--stack", "dev", "--against", str(path), *options],
        env={"COLUMNS": "250"},
    )


def _base_with_another_model_image(stack_export) -> tuple[dict, dict]:
    base = stack_export("dev")
    model = _first(base, MODEL)
    model["inputs"]["primaryContainer"]["image"] = "an-older-image"
    return base, model


def test_preview_json_marks_each_replacement_with_its_cause(stack_export, tmp_path):
    base, model = _base_with_another_model_image(stack_export)
    result = _preview_against(tmp_path, base, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    by_urn = {c["urn"]: c for c in document["changes"]}
    assert set(by_urn[model["urn"]]) == {"change", "urn", "type", "keys", "replace_on", "because"}
    assert by_urn[model["urn"]]["change"] == "replace"
    assert by_urn[model["urn"]]["replace_on"] == ["primaryContainer"]
    referencing = [c for c in document["changes"] if model["urn"] in c["because"]]
    assert [c["change"] for c in referencing] == ["replace"]
    assert document["counts"]["replace"] == 2 and document["counts"]["update"] == 1


def test_preview_text_says_replace_and_why(stack_export, tmp_path):
    base, model = _base_with_another_model_image(stack_export)
    result = _preview_against(tmp_path, base)
    assert result.exit_code == 0, result.output
    name = model["urn"].rsplit("::")[-1]
    row = next(line for line in result.output.splitlines() if f" {name} " in line)
    assert row.lstrip().startswith("+- replace")
    assert "primaryContainer cannot change in place" in row
    assert "0 to create, 1 to update, 2 to replace, 0 to delete" in result.output
