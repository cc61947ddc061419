"""Batch jobs and streaming settings: valid declarations parse; every bad one is a problem at its
path, naming the model and its file (exit 2 through the CLI, never a traceback)."""

from __future__ import annotations

import pytest

from infra.declarations import ModelDeclaration, SpecError
from infra.declarations.batch import schedule_problem
from infra.loader import parse_environment
from tests.foundation.conftest import config_data, model_data, team_data
from tests.foundation.test_mistakes import (  # noqa: F401  (project: a fixture)
    _GROWTH,
    _line_of,
    fails,
    project,
)


def job(**changes) -> dict:
    return {
        "name": "nightly",
        "input": {"s3": "s3://warehouse/in/", "format": "parquet"},
        "output": "s3://warehouse/out/",
        "schedule": "cron(0 2 * * ? *)",
        **changes,
    }


# What a team with batch jobs declares (tests/foundation/test_team_data.py tests these rules).
BATCH_TEAM = {
    "data": {"read": ("s3://warehouse/",), "write": ("s3://warehouse/",)},
    "batch_quota": {"cpu": 1000, "memory_gib": 10000, "pods": 1000},
}


def problems(*jobs: dict, config: dict | None = None, teams: int = 1) -> dict[str, str]:
    try:
        parse_environment(
            "dev",
            teams=[team_data(name=name, **BATCH_TEAM) for name in ("fraud", "growth")[:teams]],
            models=[model_data(batch=list(jobs))],
            config=config or config_data(),
        )
    except SpecError as error:
        return {problem.path: problem.message for problem in error.problems}
    return {}


def test_a_valid_job_parses():
    assert problems(job()) == {}
    assert problems(job(schedule=None, on_demand=True)) == {}
    assert problems(job(input={"table": "prediction-events"})) == {}


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "rate(12 hours)",
        "rate(1 day)",
        "rate(7 days)",
        "cron(0 2 * * ? *)",
        "cron(15 10 ? * MON-FRI *)",
        "cron(0/15 * * * ? 2027)",
        "cron(0 8 1 * ? *)",
        "cron(0 8 ? * 6#3 *)",
        "cron(0 8 L * ? *)",
        "at(2027-01-31T23:59:59)",
    ],
)
def test_eventbridge_scheduler_expressions_are_accepted(expression):
    assert schedule_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("rate(1 minutes)", "rate(1 minute)"),
        ("rate(2 hour)", "rate(2 hours)"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 weeks)", "not an EventBridge Scheduler expression"),
        ("cron(0 2 * * ?)", "six fields"),
        ("cron(0 2 * * * *)", "'?'"),
        ("cron(0 2 ? * ? *)", "'?'"),
        ("cron(0 2 * * ? * *)", "six fields"),
        ("cron(0 2 %1 * ? *)", "day-of-month"),
        ("at(2027-02-30 10:00:00)", "not an EventBridge Scheduler expression"),
        ("at(2027-13-01T00:00:00)", "not a date"),
        ("0 2 * * *", "not an EventBridge Scheduler expression"),
        ("daily", "not an EventBridge Scheduler expression"),
    ],
)
def test_expressions_scheduler_refuses_are_problems(expression, why):
    assert why in schedule_problem(expression)
    assert why in problems(job(schedule=expression))["models[0].batch[0].schedule"]


BAD_JOBS = [
    ("never runs", job(schedule=None), "models[0].batch[0].schedule", "never runs"),
    (
        "both inputs",
        job(input={"s3": "s3://warehouse/in/", "format": "csv", "table": "prediction-events"}),
        "models[0].batch[0].input",
        "exactly one",
    ),
    ("no input", job(input={}), "models[0].batch[0].input", "exactly one"),
    (
        "prefix without format",
        job(input={"s3": "s3://warehouse/in/"}),
        "models[0].batch[0].input.format",
        "one format",
    ),
    (
        "format of a table",
        job(input={"table": "prediction-events", "format": "csv"}),
        "models[0].batch[0].input.format",
        "remove format",
    ),
    (
        "input not a prefix",
        job(input={"s3": "s3://warehouse/in.parquet", "format": "parquet"}),
        "models[0].batch[0].input.s3",
        "S3 prefix",
    ),
    ("output not s3", job(output="/tmp/out/"), "models[0].batch[0].output", "S3 prefix"),
    (
        "output inside input",
        job(output="s3://warehouse/in/scores/"),
        "models[0].batch[0].output",
        "overlaps the input",
    ),
    (
        "input inside output",
        job(input={"s3": "s3://warehouse/out/x/", "format": "json"}, output="s3://warehouse/out/"),
        "models[0].batch[0].output",
        "overlaps the input",
    ),
    (
        "executor larger than any spot node",
        job(size={"executor_memory_gb": 15}),
        "models[0].batch[0].size",
        "stay Pending",
    ),
    ("unknown table", job(input={"table": "registry"}), "models[0].batch[0].input.table", ""),
    ("name too long", job(name="a" * 16), "models[0].batch[0].name", "at most 15"),
]


@pytest.mark.parametrize(("case", "bad", "path", "why"), BAD_JOBS, ids=[c[0] for c in BAD_JOBS])
def test_bad_jobs_are_problems_at_their_path(case, bad, path, why):
    found = problems(bad)
    assert path in found, found
    assert why in found[path]


def test_two_jobs_of_a_model_need_distinct_names():
    found = problems(job(), job(schedule="rate(1 day)"))
    assert "already the name of batch[0]" in found["models[0].batch[1].name"]
    assert problems(job(), job(name="weekly", schedule="rate(7 days)")) == {}


def test_an_executor_that_fits_the_largest_spot_node_is_accepted():
    # m6i.xlarge leaves about 14,563 MiB to pods: 10 GiB of heap + PySpark's 40% overhead
    # (14,336 MiB) fits, 11 GiB (15,769 MiB) does not.
    assert problems(job(size={"executor_memory_gb": 10, "executor_cores": 3})) == {}
    found = problems(job(size={"executor_memory_gb": 11, "executor_cores": 3}))
    assert "15769 MiB" in found["models[0].batch[0].size"]
    found = problems(job(size={"executor_cores": 4}))
    assert "4 vCPU" in found["models[0].batch[0].size"]


def test_a_bad_job_names_the_model_and_its_file():
    with pytest.raises(SpecError) as raised:
        parse_environment(
            "dev",
            teams=[team_data()],
            models=[ModelDeclaration(**model_data(batch=[job(schedule=None)]))],
            config=config_data(),
        )
    text = str(raised.value)
    assert (
        "model 'fraud-scorer' (tests/foundation/test_batch_and_streaming_declarations.py:" in text
    )
    assert "batch[0].schedule: the job never runs" in text


# --- streaming settings ----------------------------------------------------------------------


def streaming(**settings) -> dict:
    return config_data(**{"mlplat:streaming": {"enabled": True, **settings}})


def test_streaming_is_off_by_default_and_unchecked_while_off():
    spec = parse_environment(
        "dev", teams=[team_data()], models=[model_data()], config=config_data()
    )
    assert spec.settings.streaming.enabled is False
    off = config_data(**{"mlplat:streaming": {"enabled": False, "brokers": 3}})
    assert problems(config=off) == {}  # 3 brokers over the default 2 zones, but off


@pytest.mark.parametrize(
    ("settings", "path", "why"),
    [
        ({"brokers": 3}, "config.streaming.brokers", "multiple"),
        ({"brokers": 2, "kafkaVersion": "3.5.1"}, "config.streaming.kafkaVersion", "3.6.0"),
        ({"brokers": 2, "kafkaVersion": "latest"}, "config.streaming.kafkaVersion", "like"),
        (
            {"brokers": 2, "brokerInstanceType": "kafka.t3.small"},
            "config.streaming.brokerInstanceType",
            "not one of",
        ),
        ({"brokers": 2}, "config.streaming.replicationFactor", "as many brokers"),
    ],
)
def test_bad_streaming_settings_are_problems(settings, path, why):
    found = problems(job(), config=streaming(**settings))
    assert path in found, found
    assert why in found[path]


def test_streaming_at_the_boundaries():
    ok = {"brokers": 2, "replicationFactor": 2, "kafkaVersion": "3.6.0"}
    assert problems(job(), config=streaming(**ok)) == {}
    # 1,000 partition replicas per m7g.large broker: 2 teams x 500 x 2 / 2 = 1,000 is allowed.
    assert problems(job(), config=streaming(**ok, partitionsPerTeam=500), teams=2) == {}
    found = problems(job(), config=streaming(**ok, partitionsPerTeam=501), teams=2)
    assert "over MSK's 1000" in found["config.streaming.partitionsPerTeam"]


def test_the_cli_reports_a_bad_job_in_a_stack_file_with_exit_2(project):  # noqa: F811
    """As an ML engineer writes it: a job with no schedule, in an override in the stack file."""
    project.model()
    read, write = _GROWTH.data.read[0], _GROWTH.data.write[0]  # paths the team may use
    bad = f'{{"name": "x", "input": {{"s3": "{read}i/", "format": "csv"}}, "output": "{write}o/"}}'
    project.stack(models=f"upsell_scorer.model.override(batch=[{bad}])")
    text = fails("models", "list", "--stack", "dev")
    assert "model 'upsell-scorer' (" in text and "overridden at " in text
    line = _line_of("MODELS")
    assert f"/stacks/dev.py:{line}): batch[0].schedule: the job never runs" in text
    assert "1 problem(s)" in text
