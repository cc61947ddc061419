"""What a change does, against a base export: `mlplat.plan_diff` and `mlplat preview --against`."""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

from cost_model.graph import Graph, Resource
from mlplat.cli import app
from mlplat.offline import GENERATOR
from mlplat.plan_diff import Change, DiffError, diff

ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


def _entries(document: dict) -> list[dict]:
    return document["deployment"]["resources"]


def _first(document: dict, type_: str) -> dict:
    return next(r for r in _entries(document) if r["type"] == type_)


def _changes(base: dict, new: dict) -> dict[str, tuple[Change, tuple[str, ...]]]:
    plan = diff(Graph.from_export(base), Graph.from_export(new))
    return {change.urn: (change.kind, change.keys) for change in plan.changes}


def test_the_same_export_changes_nothing(stack_export):
    base = stack_export("dev")
    plan = diff(Graph.from_export(base), Graph.from_export(stack_export("dev")))
    assert plan.changes == ()
    assert plan.unchanged == len(_entries(base))
    assert plan.summary().startswith(
        f"0 to create, 0 to update, 0 to replace, 0 to delete, {plan.unchanged} unchanged;"
    )


def test_created_deleted_and_updated_resources_are_named_with_what_differs(stack_export):
    base = stack_export("dev")
    new = copy.deepcopy(base)
    entries = _entries(new)
    table = _first(new, "aws:dynamodb/table:Table")
    table["inputs"]["pointInTimeRecovery"] = {"enabled": False}
    table["protect"] = not table["protect"]
    removed = next(r for r in entries if r["type"] == "aws:dynamodb/tableItem:TableItem")
    entries.remove(removed)
    added = copy.deepcopy(_first(new, "aws:sns/topic:Topic"))
    added["urn"] = added["urn"] + "-2"
    entries.append(added)

    changes = _changes(base, new)
    assert changes == {
        table["urn"]: (Change.UPDATE, ("pointInTimeRecovery", "option:protect")),
        removed["urn"]: (Change.DELETE, ()),
        added["urn"]: (Change.CREATE, ()),
    }
    plan = diff(Graph.from_export(base), Graph.from_export(new))
    assert [c.kind for c in plan.changes] == [Change.CREATE, Change.UPDATE, Change.DELETE]
    assert plan.unchanged == len(_entries(base)) - 2


def test_a_new_parent_or_dependency_is_a_change(stack_export):
    base = stack_export("dev")
    new = copy.deepcopy(base)
    config = _first(new, ENDPOINT_CONFIG)
    config["dependencies"] = [*config["dependencies"], _first(new, "aws:kms/key:Key")["urn"]]
    assert _changes(base, new) == {config["urn"]: (Change.UPDATE, ("option:dependencies",))}


@pytest.mark.parametrize(
    ("path", "edit"),
    [
        (
            "productionVariants[0].initialInstanceCount",
            ("productionVariants", 0, "initialInstanceCount"),
        ),
        (
            "productionVariants[*].initialInstanceCount",
            ("productionVariants", 0, "initialInstanceCount"),
        ),
        ('tags["mlplat:team"]', ("tags", "mlplat:team")),
        ("tags", ("tags", "mlplat:team")),
    ],
)
def test_ignored_properties_are_not_changes(stack_export, path, edit):
    base = stack_export("dev")
    _first(base, ENDPOINT_CONFIG)["ignoreChanges"] = [path]
    new = copy.deepcopy(base)
    config = _first(new, ENDPOINT_CONFIG)
    *parents, last = edit
    target = config["inputs"]
    for step in parents:
        target = target[step]
    target[last] = 99 if isinstance(target.get(last), int) else "someone-else"
    assert _changes(base, new) == {}
    # The same edit without the ignore changes that input: the configuration is immutable but for
    # its tags, so a variant's change replaces it.
    config["ignoreChanges"] = []
    _first(base, ENDPOINT_CONFIG)["ignoreChanges"] = []
    kind = Change.UPDATE if edit[0] == "tags" else Change.REPLACE
    assert _changes(base, new)[config["urn"]] == (kind, (edit[0],))


URN = "urn:pulumi:dev::mlplat::aws:sagemaker/endpointConfiguration:EndpointConfiguration::c"


def _update(old_inputs: dict, new_inputs: dict, ignore: list[str]) -> tuple[str, ...] | None:
    """What differs in one resource between two graphs (None: nothing)."""
    options = {"ignoreChanges": ignore} if ignore else {}
    old = Graph((Resource(URN, ENDPOINT_CONFIG, old_inputs, options=options),), generator=GENERATOR)
    new = Graph((Resource(URN, ENDPOINT_CONFIG, new_inputs, options=options),), generator=GENERATOR)
    changes = diff(old, new).changes
    return changes[0].keys if changes else None


VARIANTS = {"pv": [{"n": 1, "c": "a"}, {"n": 2, "c": "b"}, {"n": 3, "c": "c"}]}


@pytest.mark.parametrize(
    "ignore",
    [["pv[0]", "pv[1].c"], ["pv[1].c", "pv[0]"]],
)
def test_several_ignored_paths_keep_their_old_values_in_any_order(ignore):
    new = {"pv": [{"n": 9, "c": "z"}, {"n": 2, "c": "y"}, {"n": 3, "c": "c"}]}
    assert _update(VARIANTS, new, ignore) is None
    shifted = {"pv": [{"n": 9, "c": "z"}, {"n": 2, "c": "y"}, {"n": 3, "c": "CHANGED"}]}
    assert _update(VARIANTS, shifted, ignore) == ("pv",)  # the third element is not ignored


def test_an_ignored_key_the_old_side_lacks_is_dropped_from_the_new_side():
    assert _update({"tags": {}}, {"tags": {"new": "x"}}, ["tags.new"]) is None
    assert _update({"tags": {}}, {"tags": {"new": "x", "other": "y"}}, ["tags.new"]) == ("tags",)


def test_quoted_keys_with_escapes_and_wildcards():
    old = {"tags": {'say "hi"': "a", "k.e.y": "b"}}
    new = {"tags": {'say "hi"': "A", "k.e.y": "B"}}
    assert _update(old, new, ['tags["say \\"hi\\""]', 'tags["k.e.y"]']) is None
    assert _update(old, new, ["tags[*]"]) is None
    assert _update(VARIANTS, {"pv": [{"n": 0, "c": "a"}] * 3}, ["pv[*].n"]) == ("pv",)
    assert _update(VARIANTS, {"pv": [{"n": 0, "c": c} for c in "abc"]}, ["pv[*].n"]) is None


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("pv[x]", "expected an index"),
        ('tags["open', "unterminated"),
        ("pv[0].n", "nothing there"),
    ],
)
def test_an_ignore_path_that_cannot_apply_is_an_error_naming_it(path, words):
    with pytest.raises(DiffError, match=words) as error:
        _update(VARIANTS, {"other": 1}, [path])  # the new side has no pv at all
    assert URN in str(error.value) and repr(path) in str(error.value)


def test_an_empty_base_creates_everything(stack_export):
    new = stack_export("dev")
    empty = {"version": 3, "deployment": {"manifest": {"generator": GENERATOR}, "resources": []}}
    plan = diff(Graph.from_export(empty), Graph.from_export(new))
    assert plan.count(Change.CREATE) == len(_entries(new)) and plan.unchanged == 0


def test_a_base_of_another_stack_is_refused(stack_export):
    with pytest.raises(DiffError, match="of stack 'staging', the change of 'dev'"):
        diff(Graph.from_export(stack_export("staging")), Graph.from_export(stack_export("dev")))


def test_a_live_export_is_refused_with_the_reason(stack_export):
    live = stack_export("dev")
    live["deployment"]["manifest"]["generator"] = ""
    with pytest.raises(DiffError, match="base export .* not the offline engine"):
        diff(Graph.from_export(live), Graph.from_export(stack_export("dev")))


def test_preview_against_a_base_prints_only_the_change(stack_export, tmp_path):
    base = stack_export("dev")
    table = _first(base, "aws:dynamodb/table:Table")
    table["inputs"]["streamEnabled"] = not table["inputs"].get("streamEnabled", False)
    path = tmp_path / "base.json"
    path.write_text(json.dumps(base))

    result = CliRunner().invoke(
        app, ["preview", "--stack", "dev", "--against", str(path)], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    assert "Changes against the base export" in result.output
    assert table["urn"].rsplit("::", 1)[-1] in result.output and "streamEnabled" in result.output
    unchanged = len(_entries(base)) - 1
    summary = f"0 to create, 1 to update, 0 to replace, 0 to delete, {unchanged} unchanged"
    assert summary in result.output
    assert "Resources by type" not in result.output  # the tree is not shown


@pytest.mark.parametrize(
    ("content", "words"),
    [("not json", "not JSON"), (json.dumps({"version": 2}), "version 3")],
)
def test_preview_against_a_bad_base_is_a_clean_error(tmp_path, content, words):
    path = tmp_path / "base.json"
    path.write_text(content)
    result = CliRunner().invoke(
        app, ["preview", "--stack", "dev", "--against", str(path)], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 2
    assert f"--against {path}" in result.output and words in result.output
    assert "Traceback" not in result.output
