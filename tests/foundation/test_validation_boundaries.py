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


def _gpu_model(instance_type: str, gpus: int = 1) -> dict:
    return model_data(
        framework="pytorch",
        framework_version="2.3",
        instance_type=instance_type,
        resources={"memory_mb": 1024, "gpus": gpus},
    )


def test_a_gpu_model_may_use_every_gpu_of_its_instance_but_not_more():
    # the multi-model endpoint GPU type with the most GPUs
    instance = max(
        (
            catalog.SAGEMAKER_INSTANCE_TYPES[name]
            for name in catalog.MME_GPU_INSTANCE_TYPES
            if name in catalog.SAGEMAKER_INSTANCE_TYPES
        ),
        key=lambda instance: instance.gpus,
    )
    for gpus, refused in ((instance.gpus, False), (instance.gpus + 1, True)):
        model = model_data(
            framework="pytorch",
            framework_version="2.3",
            instance_type=instance.name,
            resources={"memory_mb": 1024, "gpus": gpus},
        )
        assert ("models[0].resources.gpus" in _problems(models=[model])) is refused, gpus


@pytest.mark.parametrize(
    "name", sorted(n for n, i in catalog.SAGEMAKER_INSTANCE_TYPES.items() if i.has_gpu)
)
def test_a_multi_model_endpoint_runs_only_on_the_gpu_types_aws_lists(name):
    problems = _problems(models=[_gpu_model(name)])
    if name in catalog.MME_GPU_INSTANCE_TYPES:
        assert problems == {}
    else:
        message = problems["models[0].instance_type"]
        assert f"do not run on {name}" in message and "ml.g5.xlarge" in message


def test_both_sides_of_the_multi_model_gpu_list_are_in_the_catalog():
    """AWS's page lists single-GPU g4dn/g5/p3 types; a 4-GPU g5 and a g6 are not on it."""
    for name in ("ml.g4dn.xlarge", "ml.g5.xlarge", "ml.p3.2xlarge"):
        assert name in catalog.MME_GPU_INSTANCE_TYPES and name in catalog.SAGEMAKER_INSTANCE_TYPES
    for name in ("ml.g5.12xlarge", "ml.g6.xlarge"):
        assert (
            name not in catalog.MME_GPU_INSTANCE_TYPES and name in catalog.SAGEMAKER_INSTANCE_TYPES
        )


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


# --- the cluster's public endpoint and the CI branch -------------------------------------------


def _cluster_cidrs(*cidrs: str) -> dict[str, str]:
    return _problems(config=config_data(**{"mlplat:cluster": {"publicAccessCidrs": list(cidrs)}}))


@pytest.mark.parametrize(
    ("cidr", "refused"),
    [
        ("0.0.0.0/0", False),  # EKS's default, every address
        ("203.0.113.5/32", False),  # AWS's own example
        ("54.240.193.128/26", False),
        ("11.0.0.0/8", False),  # just above 10.0.0.0/8
        ("9.255.255.255/32", False),  # just below it
        ("10.0.0.0/8", True),
        ("8.0.0.0/6", True),  # public at both ends, 10.0.0.0/8 inside
        ("10.1.2.3/32", True),
        ("172.16.0.0/12", True),
        ("192.168.1.0/24", True),
        ("100.64.0.1/32", True),
        ("127.0.0.1/32", True),
        ("169.254.169.254/32", True),
        ("224.0.0.0/4", True),
        ("2001:db8::/32", True),  # IPv6 on an IPv4 cluster
        ("1.2.3.4/24", True),  # host bits set: not a block
    ],
)
def test_the_public_endpoint_takes_public_ipv4_blocks_only(cidr, refused):
    problems = _cluster_cidrs("198.51.100.0/24", cidr)
    assert (set(problems) == {"config.cluster.publicAccessCidrs[1]"}) is refused, problems
    assert refused or problems == {}


BRANCHES = [
    "main",
    "release/1.2",
    "feature/x.y",
    "v1.0",
    "a@b",
    "@",
    "x.locka",
    "lock",
    "a/-b",
    "a b",
    "a*",
    "a?",
    "a[",
    "a~1",
    "a^",
    "a:b",
    "a\\b",
    "a..b",
    "a//b",
    "a@{b",
    ".a",
    "a/.b",
    "a.lock",
    "a.lock/b",
    "-a",
    "/a",
    "a/",
    "a.",
    "a\tb",
    "a\x7f",
    "",
]


@pytest.mark.parametrize("branch", BRANCHES)
def test_the_ci_branch_is_refused_exactly_when_git_refuses_it(branch):
    """git is the judge: `git check-ref-format refs/heads/<branch>`, and `git branch` refuses a
    leading "-" too."""
    import subprocess

    check = subprocess.run(["git", "check-ref-format", f"refs/heads/{branch}"], check=False)
    git_refuses = check.returncode != 0 or branch.startswith("-")
    config = config_data(**{"mlplat:ci": {"githubRepository": "o/r", "branch": branch}})
    problems = _problems(config=config)
    assert (set(problems) == {"config.ci.branch"}) is git_refuses, problems
    assert git_refuses or problems == {}
    assert git_refuses is (branch in BRANCHES[BRANCHES.index("a b") :])  # both sides are here
