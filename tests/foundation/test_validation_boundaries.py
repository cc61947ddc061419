"""Both sides of every validation boundary: the edge value that must be accepted, and the first
value past it that must be refused, each at its field's path."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra import catalog
from infra.declarations import SpecError
from infra.loader import parse_environment
from tests.foundation.conftest import config_data, model_data, team_data


def _problems(models=None, config=None) -> dict[str, str]:
    """Path -> message of every problem; empty when the stack parses."""
    try:
        parse_environment(
            "dev",
            teams=[team_data()],
            models=[model_data()] if models is None else models,
            config=config_data() if config is None else config,
        )
    except SpecError as error:
        return {problem.path: problem.message for problem in error.problems}
    return {}


def _node_groups(role: str, **group) -> dict[str, str]:
    base = {
        "systemNodes": {
            "instanceTypes": ["m6i.large"],
            "minSize": 2,
            "maxSize": 4,
            "desiredSize": 2,
        }
    }
    types = {"gpuNodes": ["g5.xlarge"], "spotNodes": ["m6i.xlarge", "m6a.xlarge", "m5.xlarge"]}
    group = {"instanceTypes": types.get(role, ["m6i.large"]), **group}
    return config_data(**{"mlplat:cluster": {**base, role: group}})


# --- a model's scaling -------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 20), st.integers(-3, 3))
def test_a_model_may_scale_between_equal_or_ordered_bounds(low, step):
    high = max(low + step, 1)  # below 1 is the field's own bound, tested elsewhere
    problems = _problems(models=[model_data(scaling={"min_instances": low, "max_instances": high})])
    if high >= low:
        assert problems == {}
    else:
        assert problems == {"models[0].scaling.max_instances": f"must be >= min_instances ({low})"}


# The memory boundary (the models' share of the instance): tests/foundation/test_mistakes.py.


def test_a_gpu_model_may_use_every_gpu_of_its_instance_but_not_more():
    instance = catalog.SAGEMAKER_INSTANCE_TYPES["ml.g5.12xlarge"]
    for gpus, refused in ((instance.gpus, False), (instance.gpus + 1, True)):
        model = model_data(
            framework="pytorch",
            framework_version="2.3",
            instance_type=instance.name,
            resources={"memory_mb": 1024, "gpus": gpus},
        )
        assert ("models[0].resources.gpus" in _problems(models=[model])) is refused, gpus


# --- node groups -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["systemNodes", "gpuNodes", "spotNodes"])
@settings(max_examples=30, deadline=None)
@given(sizes=st.tuples(st.integers(0, 6), st.integers(1, 6), st.integers(0, 6)))
def test_node_group_sizes_are_accepted_exactly_when_min_le_desired_le_max(role, sizes):
    low, high, desired = sizes
    problems = _problems(config=_node_groups(role, minSize=low, maxSize=high, desiredSize=desired))
    path = f"config.cluster.{role}"
    assert (f"{path}.maxSize" in problems) is (high < low)
    assert (f"{path}.desiredSize" in problems) is not (low <= desired <= high)
    assert set(problems) <= {f"{path}.maxSize", f"{path}.desiredSize"}


def test_spot_capacity_counts_distinct_instance_types():
    distinct = ["m6i.xlarge", "m6a.xlarge", "m5.xlarge"]
    assert _problems(config=_node_groups("spotNodes", instanceTypes=distinct)) == {}
    repeated = ["m6i.xlarge", "m6i.xlarge", "m5.xlarge"]
    problems = _problems(config=_node_groups("spotNodes", instanceTypes=repeated))
    assert "at least three" in problems["config.cluster.spotNodes.instanceTypes"]


def test_every_gpu_node_type_must_have_a_gpu():
    for family in ["g4dn.xlarge", "g6.xlarge", "p3.2xlarge"]:  # one GPU model per pool
        assert _problems(config=_node_groups("gpuNodes", instanceTypes=[family])) == {}, family
    problems = _problems(config=_node_groups("gpuNodes", instanceTypes=["g5.xlarge", "m5.xlarge"]))
    assert set(problems) == {"config.cluster.gpuNodes.instanceTypes[1]"}


# --- provisioned tables --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Read", "Write"])
@pytest.mark.parametrize(("low", "high", "refused"), [(7, 7, False), (7, 8, False), (8, 7, True)])
def test_provisioned_capacity_bounds_may_be_equal_but_not_reversed(kind, low, high, refused):
    capacity = {f"min{kind}": low, f"max{kind}": high}
    problems = _problems(config=config_data(**{"mlplat:data": {"provisionedCapacity": capacity}}))
    if refused:
        (path,) = problems
        assert path == "config.data.provisionedCapacity"
        assert (
            f"min_{kind.lower()} ({low}) must be <= max_{kind.lower()} ({high})" in problems[path]
        )
    else:
        assert problems == {}


# --- serving settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serving", "refused"),
    [
        ({"modelMemoryFraction": 1}, False),
        ({"modelMemoryFraction": 1.01}, True),
        ({"modelMemoryFraction": 0}, True),
        ({"maxModelsPerEndpoint": 1}, False),
        ({"maxModelsPerEndpoint": 0}, True),
    ],
)
def test_serving_settings_at_their_bounds(serving, refused):
    problems = _problems(config=config_data(**{"mlplat:serving": serving}))
    (key,) = serving
    assert (f"config.serving.{key}" in problems) is refused, problems
