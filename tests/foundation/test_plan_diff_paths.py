"""Plan diff on hand-made resources: which differences it names, and ``ignoreChanges`` paths of
every shape (quoted keys, nested indexes, paths that point at nothing), each either ignored
exactly or refused with a clear error, never a crash."""

from __future__ import annotations

import pytest

from cost_model.graph import Graph, Resource
from mlplat.offline import GENERATOR
from mlplat.plan_diff import Change, DiffError, diff

TYPE = "aws:s3/bucket:Bucket"
URN = f"urn:pulumi:dev::mlplat::{TYPE}::b"


def _graph(*resources: Resource, generator: str = GENERATOR) -> Graph:
    return Graph(tuple(resources), generator=generator)


def _keys(old: dict, new: dict, ignore: list[str] | None = None, **changes) -> tuple[str, ...]:
    options = {"ignoreChanges": ignore} if ignore else {}
    before = Resource(URN, TYPE, old, options=options)
    after = Resource(URN, TYPE, new, options=options, **changes)
    found = diff(_graph(before), _graph(after)).changes
    return found[0].keys if found else ()


def test_an_input_on_one_side_only_is_a_difference():
    assert _keys({"a": 1}, {"a": 1, "b": 2}) == ("b",)
    assert _keys({"a": 1, "b": 2}, {"a": 1}) == ("b",)


def test_a_new_parent_or_provider_is_named_as_an_option():
    assert _keys({}, {}, parent="urn:p") == ("option:parent",)
    assert _keys({}, {}, provider_urn="urn:prov") == ("option:provider",)


def test_the_summary_counts_each_kind():
    kept = Resource(URN, TYPE, {})
    added = Resource(URN + "2", TYPE, {})
    plan = diff(_graph(kept), _graph(kept, added))
    assert [c.kind for c in plan.changes] == [Change.CREATE]
    assert plan.summary() == (
        "1 to create, 0 to update, 0 to replace, 0 to delete, 1 unchanged; "
        "2 resources in the new export (the stack and providers included)"
    )


@pytest.mark.parametrize(
    ("generator", "words"), [("pulumi", "'pulumi'"), ("", "'an unknown generator'")]
)
def test_an_export_not_from_the_offline_engine_is_refused_naming_its_side(generator, words):
    with pytest.raises(DiffError) as caught:
        diff(_graph(), _graph(generator=generator))
    message = str(caught.value)
    assert message.startswith(f"the new export was written by {words}, not the offline engine")
    # the advice is the whole rest of the message, nothing appended after it
    assert message.endswith(", and use `pulumi preview` for the difference from a live stack")


def test_quoted_keys_may_start_with_an_escape_and_be_followed_by_more_steps():
    old = {"tags": {'"hi" said': "a"}, "m": {"k.x": {"n": 1, "o": 1}}}
    new = {"tags": {'"hi" said': "b"}, "m": {"k.x": {"n": 2, "o": 1}}}
    assert _keys(old, new, ['tags["\\"hi\\" said"]', 'm["k.x"].n']) == ()
    assert _keys(old, new, ['m["k.x"].n']) == ("tags",)


def test_nested_indexes_are_read_one_bracket_at_a_time():
    old = {"grid": [[1, 2], [3, 4]]}
    assert _keys(old, {"grid": [[1, 9], [3, 4]]}, ["grid[0][1]"]) == ()
    assert _keys(old, {"grid": [[1, 2], [3, 9]]}, ["grid[0][1]"]) == ("grid",)


def test_ignoring_a_key_neither_side_has_is_no_change():
    assert _keys({"tags": {}}, {"tags": {}}, ["tags.gone"]) == ()


def test_a_wildcard_where_the_old_side_has_no_map_does_not_crash():
    assert _keys({}, {"tags": {"a": "x"}}, ["tags[*]"]) in {(), ("tags",)}


@pytest.mark.parametrize(
    ("inputs", "path"),
    [
        ({"pv": [1, 2, 3]}, "pv.n"),  # a name into a list
        ({"pv": [1, 2, 3]}, "pv[3]"),  # one past the end
        ({"tags": {"a": "x"}}, "tags[0]"),  # an index into a map
        ({"bucket": "b"}, "bucket[*]"),  # a wildcard over a string
    ],
)
def test_a_path_to_nothing_is_refused_clearly(inputs, path):
    with pytest.raises(DiffError, match="the new inputs have nothing there"):
        _keys(inputs, inputs, [path])


def test_an_index_the_new_side_lacks_is_refused_even_if_the_old_side_has_it():
    with pytest.raises(DiffError, match="nothing there"):
        _keys({"pv": [1, 2, 3]}, {"pv": [1, 2]}, ["pv[2]"])


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("pv[12", "expected an index or * in brackets at 2"),
        ("pv[0]x", "expected '.' or '[' at 5"),
        ("pv.", "expected a property name at 3"),
        ("", "empty path"),
    ],
)
def test_a_malformed_path_is_refused_saying_where(path, words):
    with pytest.raises(DiffError) as caught:
        _keys({"pv": [1]}, {"pv": [1]}, [path])
    assert str(caught.value) == f"{URN}: ignoreChanges {path!r}: {words}"
