"""``ignoreChanges`` wildcards over maps: every key of either side is ignored, including keys the
change removes or adds, as the engine keeps the old value of an ignored property."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cost_model.graph import Graph, Resource
from mlplat.offline import GENERATOR
from mlplat.plan_diff import diff

TYPE = "aws:s3/bucket:Bucket"
URN = f"urn:pulumi:dev::mlplat::{TYPE}::b"


def _changed_keys(old: dict, new: dict, ignore: list[str]) -> tuple[str, ...]:
    options = {"ignoreChanges": ignore}
    before = Graph((Resource(URN, TYPE, old, options=options),), generator=GENERATOR)
    after = Graph((Resource(URN, TYPE, new, options=options),), generator=GENERATOR)
    changes = diff(before, after).changes
    return changes[0].keys if changes else ()


tag_maps = st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(["x", "y"]), max_size=6)


@settings(deadline=None)
@given(tag_maps, tag_maps)
def test_a_wildcard_over_a_map_ignores_keys_added_removed_or_changed(old_tags, new_tags):
    old = {"tags": old_tags, "bucket": "b"}
    new = {"tags": new_tags, "bucket": "b"}
    assert _changed_keys(old, new, ["tags[*]"]) == ()
    # Without the wildcard the same edit is an update of the map, whenever the maps differ.
    assert _changed_keys(old, new, []) == (("tags",) if old_tags != new_tags else ())


@pytest.mark.parametrize(
    ("old_tags", "new_tags"),
    [({"team": "a", "owner": "b"}, {"team": "a"}), ({"team": "a"}, {"team": "a", "owner": "b"})],
)
def test_a_removed_or_added_tag_under_a_wildcard_is_not_an_update(old_tags, new_tags):
    assert _changed_keys({"tags": old_tags}, {"tags": new_tags}, ["tags[*]"]) == ()
    assert _changed_keys({"tags": old_tags}, {"tags": new_tags}, ["tags.team"]) == ("tags",)


def test_a_wildcard_ignores_only_what_is_under_it():
    old = {"tags": {"team": "a", "owner": "b"}, "bucket": "b"}
    new = {"tags": {"team": "a"}, "bucket": "renamed"}
    assert _changed_keys(old, new, ["tags[*]"]) == ("bucket",)
