"""What a team declares for its models' data and batch jobs (Team.data, Team.batch_quota), and
the rules that hold its models to it: every S3 path a model declares falls under a prefix of
its team's of the same mode, and the team's jobs, all at once, fit its batch quota."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from infra.declarations import ModelDeclaration, Team
from infra.declarations.data_access import (
    LIFECYCLE_USES,
    data_access_problems,
    external_paths,
)
from infra.declarations.errors import Problem
from infra.declarations.rules import stack_problems
from infra.declarations.s3 import s3_prefix_problem
from tests.foundation.conftest import model_data, team_data

TRAIN = "s3://lake/fraud/train/"
BASELINE = "s3://lake/baselines/fraud.csv"
JOB_INPUT = "s3://warehouse/in/"
JOB_OUTPUT = "s3://warehouse/out/"
# Every path the model below declares: field -> (uri, mode), the default evaluation data too.
PATHS = {
    "retraining.data": (TRAIN, "read"),
    "retraining.evaluation_data": ("s3://lake/fraud/test/", "read"),
    "monitoring.baseline": (BASELINE, "read"),
    "batch[0].input.s3": (JOB_INPUT, "read"),
    "batch[0].output": (JOB_OUTPUT, "write"),
}
COVERING = {
    "read": ("s3://lake/fraud/", "s3://lake/baselines/", "s3://warehouse/in/"),
    "write": ("s3://warehouse/out/",),
}
# A run's requests with this size: 2 x 2 cores + the driver's 1 + EMR's submitter 1 = 6 vCPU;
# executors 2 x (4 + 40%) GiB, driver 2 + 40% GiB (PySpark's overhead on Kubernetes), submitter
# 2 GiB = 16 GiB; 4 pods.
SIZE = {"executors": 2, "executor_cores": 2, "executor_memory_gb": 4, "driver_memory_gb": 2}
RUN = {"cpu": 6, "memory_gib": 16, "pods": 4}


def _job(name: str, **changes) -> dict:
    return {
        "name": name,
        "input": {"s3": JOB_INPUT, "format": "csv"},
        "output": JOB_OUTPUT,
        "on_demand": True,
        "size": SIZE,
        **changes,
    }


def _model(jobs: int = 1, **changes) -> ModelDeclaration:
    fields = {
        "retraining": {"data": TRAIN, "metric": "auc", "minimum": 0.9},
        "monitoring": {"baseline": BASELINE},
        "data_capture_percent": 10,
        "batch": [_job(f"job{index}") for index in range(jobs)],
    }
    return ModelDeclaration(**model_data(**(fields | changes)))


def _team(**changes) -> Team:
    fields = {"data": COVERING, "batch_quota": {"cpu": 100, "memory_gib": 100, "pods": 100}}
    return Team(**team_data(**(fields | changes)))


def _problems(team: Team, *models: ModelDeclaration) -> list[Problem]:
    return list(stack_problems([team], list(models)))


def test_a_model_whose_paths_are_all_under_its_teams_prefixes_passes():
    assert _problems(_team(), _model()) == []


@pytest.mark.parametrize("field", PATHS)
def test_each_path_outside_the_prefixes_of_its_mode_is_named(field):
    uri, mode = PATHS[field]
    removed = [p for p in COVERING[mode] if uri.startswith(p)]
    kept = {m: tuple(p for p in prefixes if p not in removed) for m, prefixes in COVERING.items()}
    problems = {p.path: p for p in _problems(_team(data=kept), _model())}
    # Exactly the paths of that mode the removed prefix held (train and test share one).
    assert set(problems) == {
        f"models[0].{f}"
        for f, (u, m) in PATHS.items()
        if m == mode and any(u.startswith(r) for r in removed)
    }
    problem = problems[f"models[0].{field}"]
    assert f"{uri!r}" in problem.message
    assert f"team 'fraud''s data.{mode} prefixes" in problem.message


def test_read_and_write_prefixes_are_not_interchangeable():
    swapped = {"read": (*COVERING["read"], JOB_OUTPUT), "write": (JOB_INPUT,)}
    paths = {p.path for p in _problems(_team(data=swapped), _model())}
    assert paths == {"models[0].batch[0].output"}  # the input is under read still
    only_write = {"read": COVERING["read"][:2], "write": (JOB_INPUT, JOB_OUTPUT)}
    paths = {p.path for p in _problems(_team(data=only_write), _model())}
    assert paths == {"models[0].batch[0].input.s3"}


def test_a_prefix_is_a_folder_not_a_string_start():
    # "s3://lake/fra/" starts no path under "s3://lake/fraud/", though the string almost does.
    near = {"read": ("s3://lake/fra/", *COVERING["read"][1:]), "write": COVERING["write"]}
    paths = {p.path for p in _problems(_team(data=near), _model())}
    assert paths == {"models[0].retraining.data", "models[0].retraining.evaluation_data"}


def test_the_default_evaluation_data_is_checked_and_said_to_be_the_default():
    train_only = {"read": (TRAIN, *COVERING["read"][1:]), "write": COVERING["write"]}
    (problem,) = _problems(_team(data=train_only), _model())
    assert problem.path == "models[0].retraining.evaluation_data"
    assert "'s3://lake/fraud/test/' (the default evaluation data" in problem.message
    declared = _model(
        retraining={
            "data": TRAIN,
            "evaluation_data": TRAIN + "holdout/",
            "metric": "auc",
            "minimum": 0.9,
        }
    )
    assert _problems(_team(data=train_only), declared) == []


def test_a_team_prefix_must_be_a_folder_uri():
    with pytest.raises(ValidationError, match="is not an S3 prefix"):
        Team(**team_data(data={"read": ("s3://lake/fraud",)}))
    with pytest.raises(ValidationError, match="is not an S3 prefix"):
        Team(**team_data(data={"write": ("lake/fraud/",)}))
    assert Team(**team_data(data={"read": ("s3://lake/",)})).data.read == ("s3://lake/",)


@pytest.mark.parametrize("special", list("*?[]$"))
def test_a_team_prefix_names_its_folder_literally(special):
    """IAM would read the character as a wildcard or a variable in the boundary."""
    with pytest.raises(ValidationError, match="IAM reads as a wildcard or a policy variable"):
        Team(**team_data(data={"read": (f"s3://lake/fr{special}ud/",)}))


def test_training_data_at_a_buckets_root_needs_its_evaluation_data_named():
    root = {"data": "s3://lake/", "metric": "auc", "minimum": 0.9}
    with pytest.raises(ValidationError, match="is a bucket's root"):
        _model(retraining=root)
    named = _model(retraining={**root, "evaluation_data": "s3://lake/test/"})
    assert named.retraining.evaluation_uri == "s3://lake/test/"
    folder = _model(retraining={**root, "data": "s3://lake/train/"})
    assert folder.retraining.evaluation_uri == "s3://lake/test/"


def test_a_model_of_another_team_is_held_to_its_own_teams_prefixes():
    other = Team(**team_data(name="growth", data={"read": ("s3://elsewhere/",)}))
    problems = list(stack_problems([_team(), other], [_model(team="growth", batch=[])]))
    assert {p.path for p in problems} == {
        "models[0].retraining.data",
        "models[0].retraining.evaluation_data",
        "models[0].monitoring.baseline",
    }


# --- the batch quota ----------------------------------------------------------------------------


def _quota_for(runs: int, **less) -> dict:
    """What ``runs`` runs of SIZE need at once (memory rounded up), minus ``less``."""
    need = {k: v * runs for k, v in RUN.items()}
    need["memory_gib"] = -(-need["memory_gib"] // 1)  # ceil
    return {k: int(v) - less.get(k, 0) for k, v in need.items()}


def test_jobs_that_exactly_fill_the_quota_pass():
    models = [_model(jobs=2), _model(name="second", jobs=1)]
    assert _problems(_team(batch_quota=_quota_for(3)), *models) == []


@pytest.mark.parametrize("field", ["cpu", "memory_gib", "pods"])
def test_one_unit_short_is_named_on_the_teams_field(field):
    models = [_model(jobs=2), _model(name="second", jobs=1)]
    (problem,) = _problems(_team(batch_quota=_quota_for(3, **{field: 1})), *models)
    assert problem.path == f"teams[0].batch_quota.{field}"
    assert "cpu 18, memory_gib 48, pods 12" in problem.message and "3 job(s)" in problem.message


def test_batch_jobs_of_a_team_without_a_quota_are_named_at_the_first_model_with_jobs():
    team = Team(**team_data(data=COVERING))
    problems = _problems(team, _model(name="first", jobs=0), _model(name="second", jobs=1))
    (problem,) = problems
    assert problem.path == "models[1].batch"
    assert "team 'fraud' declares no batch_quota" in problem.message
    assert "cpu 6, memory_gib 16, pods 4" in problem.message


def test_a_team_without_jobs_needs_no_quota():
    team = Team(**team_data(data=COVERING))
    assert _problems(team, _model(jobs=0)) == []


# --- what each path is for, and the refusal in full ----------------------------------------------


def test_each_declared_path_is_listed_with_its_field_and_what_reads_it():
    """The lifecycle's role reads the training, evaluation and baseline paths (LIFECYCLE_USES);
    a batch job reads its input and writes its output."""
    paths = external_paths(_model())
    assert [(p.field, p.uri, p.use, p.mode) for p in paths] == [
        ("retraining.data", TRAIN, "training", "read"),
        ("retraining.evaluation_data", "s3://lake/fraud/test/", "evaluation", "read"),
        ("monitoring.baseline", BASELINE, "baseline", "read"),
        ("batch[0].input.s3", JOB_INPUT, "batch-input", "read"),
        ("batch[0].output", JOB_OUTPUT, "batch-output", "write"),
    ]
    assert {p.field for p in paths if p.use in LIFECYCLE_USES} == {
        "retraining.data",
        "retraining.evaluation_data",
        "monitoring.baseline",
    }


def test_a_path_outside_the_prefixes_is_refused_naming_them_all_or_none():
    team = _team(data={"read": ("s3://lake/other/", "s3://warehouse/in/"), "write": ()})
    model = _model(
        monitoring=None,
        retraining={
            "data": TRAIN,
            "evaluation_data": "s3://warehouse/in/test/",
            "metric": "auc",
            "minimum": 0.9,
        },
    )
    grants = (
        "add a prefix holding it to the team's data.{mode} in the stack file (the team's "
        "permissions boundary grants those prefixes only)"
    )
    assert [(p.path, p.message) for p in _problems(team, model)] == [
        (
            "models[0].retraining.data",
            f"{TRAIN!r} is under none of team 'fraud''s data.read prefixes (s3://lake/other/, "
            "s3://warehouse/in/): " + grants.format(mode="read"),
        ),
        (
            "models[0].batch[0].output",
            f"{JOB_OUTPUT!r} is under none of team 'fraud''s data.write prefixes "
            "(none declared): " + grants.format(mode="write"),
        ),
    ]


def test_a_batch_path_that_is_no_s3_prefix_is_left_to_batch_rules_and_the_next_still_checked():
    """An input that is not a prefix is batch.py's to refuse (as such, not as outside the
    prefixes); the output after it is still held to the write prefixes."""
    model = _model(
        monitoring=None,
        retraining=None,
        batch=[_job("job", input={"s3": "s3://warehouse/in", "format": "csv"})],
    )
    team = _team(data={"read": (), "write": ()})
    problems = list(data_access_problems(model, "models[0]", team))
    assert [p.path for p in problems] == ["models[0].batch[0].output"]


def test_a_prefix_naming_several_iam_characters_lists_each():
    assert s3_prefix_problem("s3://lake/a?b*/") == (
        "'s3://lake/a?b*/' contains * ?, which IAM reads as a wildcard or a policy variable: "
        "name the folder literally"
    )
