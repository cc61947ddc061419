"""The placement lock: the committed locks are current (as `uv lock --check` checks a lock file),
version 1 locks still load and migrate without moving or changing anything, a broken lock is an
error naming the file and the field, and rewriting an unchanged lock changes no byte."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.serving import placement_lock
from components.serving.placement import (
    EndpointRecord,
    EndpointSettings,
    PlacementLock,
    place,
    placement_lock_path,
    read_placement_lock,
    write_placement_lock,
)
from components.serving.placement_lock import lock_text, parse_lock
from infra import catalog
from infra.declarations import ServingTarget, SpecError
from infra.loader import load_environment, read_stack_config
from tests.conftest import STACKS
from tests.serving.v1_locks import v1_models


def _spec(stack):
    return load_environment(stack, read_stack_config(stack))


@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_lock_places_every_model_of_the_stack(stack):
    committed = read_placement_lock(stack)
    assert place(_spec(stack), committed) == committed, (
        f"stacks/{stack}.placement.json is stale: run `mlplat models place --stack {stack}` "
        "and commit it"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_a_version_1_lock_migrates_to_what_it_deployed(stack):
    """A v1 lock (model -> endpoint only): the same endpoints, each on the type its models
    declared (or the old default) and with the most any of them asked for, as the code that
    wrote it deployed them."""
    spec = _spec(stack)
    v1 = {"endpoints": v1_models(spec, read_placement_lock(stack))}
    if not v1["endpoints"]:
        pytest.skip(f"no endpoint of {stack} has a v1 name: no v1 lock could have held it")
    migrated = place(spec, parse_lock(v1))
    assert {m: migrated.models[m] for m in v1["endpoints"]} == v1["endpoints"]
    hosted: dict[str, list] = {}
    for model in spec.models_served_by(ServingTarget.SAGEMAKER_MME):
        if model.name in v1["endpoints"]:
            hosted.setdefault(migrated.models[model.name], []).append(model)
    for endpoint, models in hosted.items():
        record = migrated.endpoints[endpoint]
        assert {m.effective_instance_type for m in models} == {record.instance_type}
        assert record.settings == EndpointSettings.serving(models)


BROKEN = [
    ({"version": 3}, "version: unknown lock version 3"),
    ({"version": 2, "models": {"a": "E"}}, 'models.a: must be {"endpoint"'),
    (
        {"version": 2, "models": {"a": {"endpoint": "E", "memoryMb": 5}}},
        "models.a: endpoint 'E' has no record",
    ),
    (
        {"version": 2, "models": {"a": {"endpoint": "E", "memoryMb": 0}}, "endpoints": {"E": {}}},
        "models.a.memoryMb: must be an integer >= 1",
    ),
    ({"version": 2, "endpoints": {"E": []}}, "endpoints.E: must be an object"),
]
RECORD = {
    "instanceType": "ml.m5.large",
    "minInstances": 1,
    "maxInstances": 2,
    "targetInvocationsPerInstance": 1000,
    "dataCapturePercent": 0,
}
for key, bad, why in [
    ("instanceType", "ml.m5.huge", "unknown type 'ml.m5.huge'"),
    ("minInstances", 0, "must be an integer >= 1, not 0"),
    ("maxInstances", "2", "must be an integer >= 1, not '2'"),
    ("targetInvocationsPerInstance", True, "must be an integer >= 1, not True"),
    ("dataCapturePercent", 101, "must be an integer 0..100, not 101"),
    ("dataCapturePercent", -1, "must be an integer 0..100, not -1"),
]:
    BROKEN.append(
        ({"version": 2, "endpoints": {"E": RECORD | {key: bad}}}, f"endpoints.E.{key}: {why}")
    )


@pytest.mark.parametrize(("document", "message"), BROKEN)
def test_a_broken_lock_names_its_file_and_field(document, message, monkeypatch, tmp_path):
    monkeypatch.setattr(placement_lock, "PROJECT_ROOT", tmp_path)
    (tmp_path / "stacks").mkdir()
    placement_lock_path("dev").write_text(json.dumps(document))
    with pytest.raises(SpecError) as raised:
        read_placement_lock("dev")
    assert "stacks/dev.placement.json" in str(raised.value)
    assert message in str(raised.value)


def test_a_lock_that_is_not_json_is_an_error_too(monkeypatch, tmp_path):
    monkeypatch.setattr(placement_lock, "PROJECT_ROOT", tmp_path)
    (tmp_path / "stacks").mkdir()
    placement_lock_path("dev").write_text('{"models": ')
    with pytest.raises(SpecError, match=r"(?s)in stacks/dev\.placement\.json:.*is not JSON"):
        read_placement_lock("dev")


def test_every_boundary_of_a_record_is_accepted():
    for key, good in [("minInstances", 1), ("dataCapturePercent", 0), ("dataCapturePercent", 100)]:
        document = {
            "version": 2,
            "models": {"a": {"endpoint": "E", "memoryMb": 1}},
            "endpoints": {"E": RECORD | {key: good}},
        }
        assert parse_lock(document).endpoints["E"].instance_type == "ml.m5.large"


names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
records = st.builds(
    EndpointRecord,
    st.sampled_from(sorted(catalog.SAGEMAKER_INSTANCE_TYPES)),
    st.builds(
        EndpointSettings,
        st.integers(1, 9),
        st.integers(1, 9),
        st.integers(1, 5000),
        st.integers(0, 100),
    ),
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(names, records, max_size=4), st.data())
def test_what_is_written_reads_back_the_same(endpoints, data):
    models = (
        data.draw(st.dictionaries(names, st.sampled_from(sorted(endpoints)), max_size=6))
        if endpoints
        else {}
    )
    memory = {m: data.draw(st.integers(1, 10**6)) for m in models}
    lock = PlacementLock(models, endpoints, memory)
    text = lock_text("dev", lock)
    assert parse_lock(json.loads(text)) == lock
    lines = text.splitlines()
    for model in models:  # one line per model and per endpoint: one-line diffs in review
        assert sum(f'"{model}": {{"endpoint"' in line for line in lines) == 1
    for endpoint in endpoints:
        assert sum(f'"{endpoint}": {{"instanceType"' in line for line in lines) == 1


@pytest.mark.parametrize("stack", STACKS)
def test_rewriting_an_unchanged_lock_leaves_the_committed_file_byte_for_byte(
    stack, monkeypatch, tmp_path
):
    committed = placement_lock_path(stack).read_bytes()
    lock = read_placement_lock(stack)
    reordered = PlacementLock(
        dict(reversed(lock.models.items())),
        dict(reversed(lock.endpoints.items())),
        dict(reversed(lock.memory_mb.items())),
    )
    monkeypatch.setattr(placement_lock, "PROJECT_ROOT", tmp_path)
    (tmp_path / "stacks").mkdir()
    assert write_placement_lock(stack, reordered).read_bytes() == committed
