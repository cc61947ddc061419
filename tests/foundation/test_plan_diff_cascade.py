"""The replacement cascade on small hand-built graphs: which values a replacement renews, how a
holder of them changes, and how a replacement is reported."""

from __future__ import annotations

import json

import pytest

from cost_model.graph import Graph, Resource
from mlplat.offline import GENERATOR
from mlplat.plan_diff import Change, DiffError, diff, mark

STACK = "urn:pulumi:dev::mlplat::"
MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _resource(type_: str, name: str, inputs: dict, outputs: dict | None = None, **rest) -> Resource:
    urn = f"{STACK}{type_}::{name}"
    return Resource(urn, type_, inputs, outputs or {}, **rest)


def _plan(before: list[Resource], after: list[Resource]) -> dict[str, object]:
    changes = diff(Graph(tuple(before), GENERATOR), Graph(tuple(after), GENERATOR)).changes
    return {c.resource.name: c for c in changes}


def _role(path: str = "/", **outputs) -> Resource:
    """An auto-named role: its name and ID are generated, its ARN holds the name."""
    name = "svc-role-1a2b3c4"
    return _resource(
        ROLE,
        "svc-role",
        {"path": path},
        {"id": name, "name": name, "arn": f"arn:aws:iam::123456789012:role/{name}", **outputs},
        id=name,
    )


def _attachment(role: Resource, value: str, name: str = "svc-attach") -> Resource:
    return _resource(
        ATTACHMENT,
        name,
        {"role": value, "policyArn": "arn:aws:iam::aws:policy/ReadOnly"},
        property_dependencies={"role": (role.urn,)},
    )


def test_a_replaced_auto_named_resource_renews_its_id_and_the_outputs_built_from_it():
    old, new = _role(), _role("/other/")
    holders = {
        "by-name": _attachment(old, old.id, "by-name"),
        "by-arn": _resource(
            MODEL,
            "by-arn",
            {"executionRoleArn": old.outputs["arn"]},
            property_dependencies={"executionRoleArn": (old.urn,)},
        ),
        "in-a-document": _resource(
            "aws:iam/policy:Policy",
            "in-a-document",
            {"policy": json.dumps({"Resource": old.outputs["arn"]})},
            property_dependencies={"policy": (old.urn,)},
        ),
    }
    plan = _plan([old, *holders.values()], [new, *holders.values()])
    assert plan["svc-role"].kind is Change.REPLACE
    assert all(plan[name].because == (old.urn,) for name in holders)
    # ``role`` and a SageMaker model's every input force a new resource; a policy document not.
    assert plan["by-name"].kind is Change.REPLACE and plan["by-arn"].kind is Change.REPLACE
    assert (plan["in-a-document"].kind, plan["in-a-document"].replace_on) == (Change.UPDATE, ())


def test_an_input_that_no_longer_holds_the_replaced_value_is_not_changed_by_it():
    old, new = _role(), _role("/other/")
    holder = _attachment(old, "a-role-named-elsewhere")
    plan = _plan([old, holder], [new, holder])
    assert set(plan) == {"svc-role"} and plan["svc-role"].kind is Change.REPLACE


def test_a_short_id_counts_only_as_a_whole_value():
    """A short ID inside a longer string is a coincidence; as the whole value it is the ID."""
    short = "ab1"
    old = _resource(ROLE, "r", {"path": "/"}, {"id": short}, id=short)
    new = _resource(ROLE, "r", {"path": "/x/"}, {"id": short}, id=short)
    inside = _attachment(old, f"x{short}y")
    whole = _resource(
        ATTACHMENT, "whole", {"role": short}, property_dependencies={"role": (old.urn,)}
    )
    plan = _plan([old, inside, whole], [new, inside, whole])
    assert "svc-attach" not in plan and plan["whole"].kind is Change.REPLACE


def test_an_eight_character_id_counts_inside_a_longer_value():
    ident = "abcd1234"
    old = _resource(ROLE, "r", {"path": "/"}, {"id": ident}, id=ident)
    new = _resource(ROLE, "r", {"path": "/x/"}, {"id": ident}, id=ident)
    holder = _attachment(old, f"role/{ident}")
    assert _plan([old, holder], [new, holder])["svc-attach"].kind is Change.REPLACE


def test_an_explicitly_named_replacement_renews_only_an_arn_not_built_from_its_name():
    """A scaling target keeps its explicit resource ID but gets a new ARN when replaced."""
    target = "aws:appautoscaling/target:Target"
    old = _resource(
        target,
        "t",
        {"resourceId": "endpoint/e/variant/v", "scalableDimension": "a"},
        {"arn": "arn:aws:application-autoscaling:us-east-1:1:scalable-target/0abc9def"},
        id="endpoint/e/variant/v",
    )
    new = _resource(target, "t", {**old.inputs, "scalableDimension": "b"}, old.outputs, id=old.id)
    by_id = _resource(
        ALARM, "by-id", {"name": "endpoint/e/variant/v"}, property_dependencies={"name": (old.urn,)}
    )
    by_arn = _resource(
        ALARM,
        "by-arn",
        {"alarmActions": [old.outputs["arn"]]},
        property_dependencies={"alarmActions": (old.urn,)},
    )
    plan = _plan([old, by_id, by_arn], [new, by_id, by_arn])
    assert plan["t"].kind is Change.REPLACE
    assert "by-id" not in plan
    assert (plan["by-arn"].kind, plan["by-arn"].keys) == (Change.UPDATE, ("alarmActions",))


def test_a_holder_already_updated_keeps_its_own_keys_and_adds_the_reference():
    old, new = _role(), _role("/other/")
    alarm_old = _resource(
        ALARM,
        "a",
        {"alarmActions": [old.outputs["arn"]], "threshold": 1},
        property_dependencies={"alarmActions": (old.urn,)},
        options={"protect": True},
    )
    alarm_new = _resource(
        ALARM,
        "a",
        {"alarmActions": [old.outputs["arn"]], "threshold": 2},
        property_dependencies={"alarmActions": (old.urn,)},
    )
    change = _plan([old, alarm_old], [new, alarm_new])["a"]
    assert change.kind is Change.UPDATE
    assert change.keys == ("alarmActions", "threshold", "option:protect")
    assert change.because == (old.urn,)


def test_a_cascade_runs_down_the_graph_and_each_replacement_once():
    """model -> configuration (replaced) -> endpoint (moved): the endpoint is reached through
    the configuration only, and a holder of two replaced resources lists both."""
    model_old = _resource(
        MODEL, "m", {"primaryContainer": {"image": "a"}}, {"id": "m-1234567"}, id="m-1234567"
    )
    model_new = _resource(
        MODEL, "m", {"primaryContainer": {"image": "b"}}, {"id": "m-1234567"}, id="m-1234567"
    )
    config = _resource(
        CONFIG,
        "c",
        {"productionVariants": [{"modelName": "m-1234567"}]},
        {"id": "c-7654321", "arn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/c-7654321"},
        id="c-7654321",
        property_dependencies={"productionVariants": (model_old.urn,)},
    )
    endpoint = _resource(
        ENDPOINT,
        "e",
        {"name": "e", "endpointConfigName": "c-7654321", "tags": {"m": "m-1234567"}},
        id="e",
        property_dependencies={"endpointConfigName": (config.urn,), "tags": (model_old.urn,)},
    )
    plan = _plan([model_old, config, endpoint], [model_new, config, endpoint])
    assert [plan[n].kind for n in "mce"] == [Change.REPLACE, Change.REPLACE, Change.UPDATE]
    assert plan["e"].because == tuple(sorted((config.urn, model_old.urn)))
    assert plan["e"].keys == ("endpointConfigName", "tags")
    assert plan["c"].because == (model_old.urn,)


def test_replace_on_changes_paths_force_by_their_first_step_and_star_by_any_input():
    old = _resource(
        ALARM,
        "a",
        {"threshold": 1, "tags": {"k": "v"}},
        options={"replaceOnChanges": ["threshold.x"]},
    )
    new = _resource(ALARM, "a", {"threshold": 2, "tags": {"k": "v"}}, options=old.options)
    assert _plan([old], [new])["a"].replace_on == ("threshold.x",)
    starred = {"replaceOnChanges": ["*"]}
    tagged = _resource(ALARM, "a", {"threshold": 1, "tags": {"k": "w"}}, options=starred)
    change = _plan([_resource(ALARM, "a", old.inputs, options=starred)], [tagged])["a"]
    assert (change.kind, change.replace_on) == (Change.REPLACE, ("*",))
    unrelated = _resource(ALARM, "a", {"threshold": 1, "tags": {"k": "w"}}, options=old.options)
    assert (
        _plan([_resource(ALARM, "a", old.inputs, options=old.options)], [unrelated])["a"].kind
        is Change.UPDATE
    )
    options_only = _resource(ALARM, "a", old.inputs, options={**starred, "protect": True})
    change = _plan([_resource(ALARM, "a", old.inputs, options=starred)], [options_only])["a"]
    assert change.kind is Change.UPDATE  # ``*`` is any input, not a resource option


def test_a_replace_on_changes_path_that_cannot_parse_is_an_error_naming_it():
    bad = {"replaceOnChanges": ["threshold["]}
    old = _resource(ALARM, "a", {"threshold": 1}, options=bad)
    new = _resource(ALARM, "a", {"threshold": 2}, options=bad)
    with pytest.raises(DiffError, match=r"replaceOnChanges 'threshold\['"):
        _plan([old], [new])


def test_a_replacement_reports_why_in_text_and_json():
    old, new = _role(), _role("/other/")
    holder = _attachment(old, old.id)
    plan = _plan([old, holder], [new, holder])
    assert plan["svc-role"].why == "replaced: path cannot change in place"
    assert plan["svc-attach"].why == (
        "replaced: role cannot change in place; references replaced svc-role"
    )
    assert plan["svc-attach"].to_json() == {
        "change": "replace",
        "urn": holder.urn,
        "type": ATTACHMENT,
        "keys": ["role"],
        "replace_on": ["role"],
        "because": [old.urn],
    }
    assert mark(Change.REPLACE) == "[magenta]+-[/]"
    graph = (Graph((old, holder), GENERATOR), Graph((new, holder), GENERATOR))
    result = diff(*graph)
    assert result.count(Change.REPLACE) == 2 and result.total == 2 and result.unchanged == 0
    assert result.summary().startswith("0 to create, 0 to update, 2 to replace, 0 to delete, 0 ")


def test_an_explicitly_named_replacement_keeps_an_arn_built_from_its_name():
    name = "named-role"
    arn = f"arn:aws:iam::123456789012:role/{name}"
    old = _resource(ROLE, "r", {"name": name, "path": "/"}, {"arn": arn}, id=name)
    new = _resource(ROLE, "r", {"name": name, "path": "/x/"}, {"arn": arn}, id=name)
    holder = _resource(
        MODEL,
        "m",
        {"executionRoleArn": arn},
        property_dependencies={"executionRoleArn": (old.urn,)},
    )
    plan = _plan([old, holder], [new, holder])
    assert plan["r"].kind is Change.REPLACE and "m" not in plan


def test_a_resource_replaced_in_its_own_right_stays_replaced_when_it_also_holds_a_replacement():
    old, new = _role(), _role("/other/")
    alarm = {"alarmActions": [old.outputs["arn"]]}
    before = _resource(
        ALARM, "a", {**alarm, "name": "a"}, property_dependencies={"alarmActions": (old.urn,)}
    )
    after = _resource(
        ALARM, "a", {**alarm, "name": "b"}, property_dependencies={"alarmActions": (old.urn,)}
    )
    change = _plan([old, before], [new, after])["a"]
    assert (change.kind, change.replace_on, change.because) == (
        Change.REPLACE,
        ("name",),
        (old.urn,),
    )
    assert change.keys == ("alarmActions", "name")


@pytest.mark.parametrize("side", ["added", "removed"])
def test_an_input_added_to_or_removed_from_an_immutable_type_replaces_it(side):
    plain = _resource(MODEL, "m", {"primaryContainer": {"image": "a"}})
    more = _resource(MODEL, "m", {"primaryContainer": {"image": "a"}, "vpcConfig": {"subnets": []}})
    before, after = (plain, more) if side == "added" else (more, plain)
    change = _plan([before], [after])["m"]
    assert (change.kind, change.replace_on) == (Change.REPLACE, ("vpcConfig",))


def test_an_update_turned_into_a_replacement_passes_the_replacement_on():
    """The configuration changes its tags (an update), then takes a replaced model's new name
    (a replacement): its endpoint must move to it too."""
    ids = {"m": "m-1234567", "c": "c-7654321"}
    model_old = _resource(MODEL, "m", {"primaryContainer": {"image": "a"}}, id=ids["m"])
    model_new = _resource(MODEL, "m", {"primaryContainer": {"image": "b"}}, id=ids["m"])
    variants = {"productionVariants": [{"modelName": ids["m"]}]}
    links = {"productionVariants": (model_old.urn,)}
    config_old = _resource(
        CONFIG, "c", {**variants, "tags": {"t": "1"}}, id=ids["c"], property_dependencies=links
    )
    config_new = _resource(
        CONFIG, "c", {**variants, "tags": {"t": "2"}}, id=ids["c"], property_dependencies=links
    )
    endpoint = _resource(
        ENDPOINT,
        "e",
        {"name": "e", "endpointConfigName": ids["c"]},
        id="e",
        property_dependencies={"endpointConfigName": (config_old.urn,)},
    )
    plan = _plan([model_old, config_old, endpoint], [model_new, config_new, endpoint])
    assert plan["c"].kind is Change.REPLACE and plan["c"].keys == ("productionVariants", "tags")
    assert plan["e"].because == (config_old.urn,)
