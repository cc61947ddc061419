"""Batch scoring jobs a model declares: what Spark reads, where it writes, when and how big.

A job runs ``lifecycle/batch/score.py`` on EMR on EKS (``components/batch.py``) with the model's
own serving archive. It starts on a schedule (an EventBridge Scheduler expression), on demand
(``aws emr-containers start-job-run`` with the job's template), or both.

Schedule grammar (EventBridge Scheduler User Guide, "Schedule types"; API reference,
CreateSchedule ``ScheduleExpression``): ``at(yyyy-mm-ddThh:mm:ss)``, ``rate(value unit)`` with a
positive integer and ``minute|minutes|hour|hours|day|days`` (the singular only with 1, as
EventBridge's rate rules), ``cron(minutes hours day-of-month month day-of-week year)``: six
fields, and ``?`` in exactly one of day-of-month and day-of-week.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from infra.declarations.errors import Problem

# One grammar for every schedule the platform creates (the lifecycle's, which checks values).
from infra.declarations.lifecycle import schedule_problem  # noqa: E402, F401
from infra.declarations.model import Declaration, dns_label
from infra.declarations.s3 import s3_prefix_problem

# A schedule is named "<model>-<job>" in its team's schedule group: Scheduler allows 64
# characters, and a model name has up to 48 (components/batch.py).
JOB_NAME_MAX = 15
FORMATS = ("parquet", "csv", "json")

# The platform's own tables a job may read, and where they are: the prediction events the
# Kafka sink writes into the capture bucket (components/streaming.py), JSON lines.
PLATFORM_TABLES = {"prediction-events": "json"}


_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minutes?|hours?|days?)\)$")
_AT = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$")
_CRON = re.compile(r"^cron\((?P<fields>[^()]*)\)$")

class BatchInput(Declaration):
    """Exactly one of ``s3`` (a prefix, with its ``format``) and ``table`` (a platform table)."""

    s3: str | None = Field(default=None, description="s3://bucket/prefix/ of the input files.")
    format: Literal["parquet", "csv", "json"] | None = Field(
        default=None, description="Of the s3 files: parquet, csv (with a header) or json lines."
    )
    table: Literal["prediction-events"] | None = Field(
        default=None, description="A platform table (its format is the platform's)."
    )


class BatchSize(Declaration):
    """What one run asks of the cluster: Spark's driver and executors (Kubernetes requests)."""

    executors: int = Field(default=2, ge=1, le=200)
    executor_cores: int = Field(default=2, ge=1, le=16)
    executor_memory_gb: int = Field(default=4, ge=1, le=120)
    driver_memory_gb: int = Field(default=2, ge=1, le=60)
    expected_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="How long a run takes: for the cost estimate."
    )

    @property
    def vcpu(self) -> int:
        """Every pod of a run: the executors' cores and the driver's one."""
        return self.executors * self.executor_cores + 1

    @property
    def memory_gb(self) -> Decimal:
        """Requested memory of a run's pods: each pod's heap and its overhead
        (``pod_memory_gb``)."""
        return self.executors * pod_memory_gb(self.executor_memory_gb) + pod_memory_gb(
            self.driver_memory_gb
        )


# EMR's job submitter pod, requested by EMR itself (not by the job's size): a conservative bound.
JOB_SUBMITTER_VCPU, JOB_SUBMITTER_GIB = 1, 2


def run_requests(size: BatchSize) -> tuple[int, Decimal, int]:
    """What one run requests in its team's Spark namespace (vCPU, GiB, pods): the driver, the
    executors and EMR's job submitter."""
    return (
        size.vcpu + JOB_SUBMITTER_VCPU,
        size.memory_gb + JOB_SUBMITTER_GIB,
        size.executors + 2,
    )


# Memory a Spark pod requests beyond its heap: 40% (at least 384 MiB), Spark's default on
# Kubernetes for non-JVM jobs such as the PySpark scoring job (its Python workers live outside
# the heap): "For JVM-based jobs this value will default to 0.10 and 0.40 for non-JVM jobs"
# (Spark, running-on-kubernetes.md, spark.kubernetes.memoryOverheadFactor). The job sets it
# explicitly (components/batch.py), so what quotas and costs count is what Spark requests.
MEMORY_OVERHEAD_FACTOR = Decimal("0.4")
MIN_MEMORY_OVERHEAD_GB = Decimal(384) / 1024


def pod_memory_gb(heap_gb: int) -> Decimal:
    return heap_gb + max(heap_gb * MEMORY_OVERHEAD_FACTOR, MIN_MEMORY_OVERHEAD_GB)


class BatchJob(Declaration):
    name: Annotated[str, dns_label(JOB_NAME_MAX)]
    input: BatchInput
    output: str = Field(description="s3://bucket/prefix/ the predictions are written under.")
    schedule: str | None = Field(default=None, description="EventBridge Scheduler expression.")
    on_demand: bool = Field(default=False, description="May be started by hand (its template).")
    size: BatchSize = BatchSize()

    @property
    def input_format(self) -> str:
        if self.input.table is not None:
            return PLATFORM_TABLES[self.input.table]
        return self.input.format or ""


def batch_problems(
    jobs: tuple[BatchJob, ...], path: str, *, spot_nodes: list[tuple[Decimal, int]] | None = None
) -> Iterator[Problem]:
    """Rules across a model's jobs and their fields. ``spot_nodes``: (vCPU, MiB) that pods may
    use on each spot node type, when the cluster parsed: an executor no node holds stays
    Pending (executors run on spot; components/batch.py)."""
    seen: dict[str, int] = {}
    for index, job in enumerate(jobs):
        where = f"{path}.batch[{index}]"
        if job.name in seen:
            yield Problem(
                f"{where}.name", f"{job.name!r} is already the name of batch[{seen[job.name]}]"
            )
        seen.setdefault(job.name, index)
        yield from _input_problems(job, where)
        output = s3_prefix_problem(job.output)
        if output:
            yield Problem(f"{where}.output", output)
        elif job.input.s3 and (
            job.output.startswith(job.input.s3) or job.input.s3.startswith(job.output)
        ):
            yield Problem(
                f"{where}.output",
                f"overlaps the input {job.input.s3!r}: a run would read its own predictions "
                "(and a retry's overwrite could delete input): choose a separate prefix",
            )
        if job.schedule is None and not job.on_demand:
            yield Problem(
                f"{where}.schedule",
                "the job never runs: give a schedule, or set on_demand=True (or both)",
            )
        elif job.schedule is not None:
            problem = schedule_problem(job.schedule)
            if problem:
                yield Problem(f"{where}.schedule", problem)
        if spot_nodes:
            yield from _size_problems(job, where, spot_nodes)


def _input_problems(job: BatchJob, where: str) -> Iterator[Problem]:
    given = job.input
    if (given.s3 is None) == (given.table is None):
        yield Problem(
            f"{where}.input",
            "give exactly one of s3 (a prefix with its format) and table "
            f"({', '.join(PLATFORM_TABLES)})",
        )
        return
    if given.table is not None:
        if given.format is not None:
            yield Problem(
                f"{where}.input.format",
                f"table {given.table!r} is {PLATFORM_TABLES[given.table]} by definition: "
                "remove format",
            )
        return
    problem = s3_prefix_problem(given.s3 or "")
    if problem:
        yield Problem(f"{where}.input.s3", problem)
    if given.format is None:
        yield Problem(
            f"{where}.input.format",
            f"a prefix holds files of one format: say which ({', '.join(FORMATS)})",
        )


def _size_problems(
    job: BatchJob, where: str, spot_nodes: list[tuple[Decimal, int]]
) -> Iterator[Problem]:
    size = job.size
    executor_mb = int(pod_memory_gb(size.executor_memory_gb) * 1024)
    if not any(size.executor_cores <= cpu and executor_mb <= mb for cpu, mb in spot_nodes):
        cpu, memory_mb = max(spot_nodes, key=lambda node: (node[1], node[0]))
        yield Problem(
            f"{where}.size",
            f"an executor requests {size.executor_cores} vCPU and {executor_mb} MiB (memory plus "
            f"Spark's overhead); the largest spot node offers about {cpu} vCPU and {memory_mb} "
            "MiB to pods, so executors would stay Pending: lower executor_cores or "
            "executor_memory_gb, or add a larger type to cluster.spotNodes",
        )


# --- how often a schedule runs, for the cost estimate -------------------------------------------

_RATE_MINUTES = {"minute": 1, "hour": 60, "day": 1440}
_NAMES = {
    "month": ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
    "day-of-week": ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
}
_RANGES = {
    "minutes": (0, 59),
    "hours": (0, 23),
    "day-of-month": (1, 31),
    "month": (1, 12),
    "day-of-week": (1, 7),
}


def runs_per_month(expression: str, hours_per_month: float) -> float:
    """Runs of a valid expression in a month of ``hours_per_month`` (the estimator's); a
    one-time ``at()`` counts as 1."""
    rate = _RATE.match(expression)
    if rate:
        minutes = int(rate["value"]) * _RATE_MINUTES[rate["unit"].rstrip("s")]
        return hours_per_month * 60 / minutes
    if _AT.match(expression):
        return 1.0
    cron = _CRON.match(expression)
    if cron is None:
        raise ValueError(f"not a schedule expression: {expression!r}")
    minutes, hours, day_of_month, month, day_of_week, _ = cron["fields"].split()
    days_in_month = hours_per_month / 24
    if day_of_month != "?":
        days = min(_count(day_of_month, "day-of-month"), days_in_month)
    elif "#" in day_of_week or "L" in day_of_week:
        days = 1.0  # the n-th or last such weekday: once a month
    else:
        days = _count(day_of_week, "day-of-week") * days_in_month / 7
    share_of_year = _count(month, "month") / 12
    return _count(minutes, "minutes") * _count(hours, "hours") * days * share_of_year


def _count(field: str, name: str) -> float:
    """How many values a cron field selects (L and W select one day)."""
    low, high = _RANGES[name]
    names = _NAMES.get(name, [])
    chosen: set[int] = set()
    for part in field.split(","):
        if part in ("*", "?"):
            chosen.update(range(low, high + 1))
            continue
        if part.rstrip("W") in ("L", "") or part.endswith(("L", "W")):
            chosen.add(-len(chosen) - 1)  # one day, whichever
            continue
        span, _, step = part.partition("/")
        if span == "*":
            start, end = low, high
        elif "-" in span:
            start, end = (_value(v, names, low) for v in span.split("-", 1))
        else:
            start = _value(span, names, low)
            end = high if step else start
        chosen.update(range(start, end + 1, int(step or 1)))
    return float(len(chosen))


def _value(text: str, names: list[str], low: int) -> int:
    if text.upper() in names:
        return names.index(text.upper()) + low
    return int(text)
