"""What a model declares about its life after deployment: drift ``monitoring`` and ``retraining``.

The common case is one line each::

    monitoring=Monitoring(),                              # every feature, daily, KS at 0.01
    retraining=Retraining(data="s3://bucket/fraud/train/", metric="auc", minimum=0.9),

Retraining defaults to managed spot with checkpoints, drift as its trigger (so it needs
``monitoring``) and manual approval; prod refuses automatic approval. Rules that span the model
or the environment are in ``lifecycle_problems`` (the loader runs them with the other rules).

Schedule expressions follow EventBridge Scheduler's grammar, checked here so a bad one is a
declaration error and not a failed deployment (Scheduler API reference, ``ScheduleExpression``:
``at(yyyy-mm-ddThh:mm:ss)``, ``rate(value unit)`` with a positive integer and ``minute | minutes |
hour | hours | day | days``, ``cron(minutes hours day-of-month month day-of-week year)``; the
fields' values and wildcards and the ``?`` rule for day-of-month/day-of-week are those of
EventBridge's "cron expressions" reference, which Scheduler's "Schedule types" page points to).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from infra.declarations.errors import Problem, raising
from infra.declarations.model import ECR_IMAGE, Declaration
from infra.s3_names import S3_URI

# --- EventBridge Scheduler's schedule expressions ---------------------------------------------

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\(([^()]*)\)$")
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
# (name, lowest, highest, names allowed as values, wildcards beyond , - * /)
_CRON_FIELDS = (
    ("minutes", 0, 59, "", ""),
    ("hours", 0, 23, "", ""),
    ("day-of-month", 1, 31, "", "?LW"),
    ("month", 1, 12, _MONTHS, ""),
    ("day-of-week", 1, 7, _DAYS, "?L#"),
    ("year", 1970, 2199, "", ""),
)
RATE_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def schedule_problem(expression: str) -> str | None:
    """Why EventBridge Scheduler would refuse ``expression``, or None."""
    if rate := _RATE.match(expression):
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            return f"{expression!r}: the rate must be a positive integer"
        # EventBridge: "If the value is equal to 1, then the unit must be singular."
        if (value == 1) != (not unit.endswith("s")):
            fixed = unit.rstrip("s") if value == 1 else unit + "s"
            return f"{expression!r}: write rate({value} {fixed}) (singular only with 1)"
        return None
    if at := _AT.match(expression):
        try:
            datetime.fromisoformat(at.group(1))
        except ValueError:
            return f"{expression!r}: not a date and time (at(yyyy-mm-ddThh:mm:ss))"
        return None
    if cron := _CRON.match(expression):
        return _cron_problem(expression, cron.group(1).split())
    return (
        f"{expression!r} is not an EventBridge Scheduler expression: rate(value unit), "
        "cron(minutes hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss)"
    )


def _cron_problem(expression: str, fields: list[str]) -> str | None:
    if len(fields) != 6:
        return (
            f"{expression!r}: a cron expression has six fields (minutes hours day-of-month month "
            f"day-of-week year), not {len(fields)}"
        )
    for value, (name, low, high, names, extra) in zip(fields, _CRON_FIELDS, strict=True):
        if not _cron_field_ok(value, low, high, names, extra):
            return f"{expression!r}: {name} {value!r} is outside {low}-{high} or its wildcards"
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return (
            f"{expression!r}: one of day-of-month and day-of-week must be '?' (and only one), "
            "e.g. cron(0 2 * * ? *)"
        )
    return None


def _cron_field_ok(value: str, low: int, high: int, names: str, extra: str) -> bool:
    if value in ("*", "?") and (value == "*" or "?" in extra):
        return True
    if value == "L" and "L" in extra:
        return True
    number = rf"(\d+|{names})" if names else r"(\d+)"
    single = rf"{number}(-{number})?(/\d+)?|\*/\d+"
    if "W" in extra:
        single += r"|\d+W|LW"
    if "#" in extra:
        single += rf"|{number}#[1-5]|{number}L"
    items = value.split(",")
    if not all(re.fullmatch(single, item) for item in items):
        return False
    numbers = [int(n) for n in re.findall(r"(?<![#/])\b\d+", value)]
    return all(low <= n <= high for n in numbers)


ScheduleExpression = Annotated[str, AfterValidator(raising(schedule_problem))]
S3Uri = Annotated[str, Field(pattern=S3_URI)]
CURRENT_TRAINING_DATA = "training-data"


# --- the declarations ----------------------------------------------------------------------


class Monitoring(Declaration):
    """Drift of the model's inputs, computed from the endpoint's capture by the drift job."""

    features: Literal["all"] | tuple[Annotated[str, Field(min_length=1)], ...] = Field(
        default="all", description="The features to watch, or 'all' of the baseline's."
    )
    baseline: Literal["training-data"] | S3Uri = Field(
        default=CURRENT_TRAINING_DATA,
        description="A CSV with a header row, or the training data of the current version "
        "(baselines/teams/<team>/<model>/v<version>.csv in the artifacts bucket).",
    )
    method: Literal["ks", "psi"] = "ks"
    threshold: float | None = Field(
        default=None,
        gt=0,
        description="Per numeric feature: KS p-value below it (default 0.01) or PSI above it "
        "(default 0.1) is drift. The job compares numeric features only.",
    )
    drift_share: float = Field(
        default=0.0, ge=0, le=1, description="Share of features that must drift; 0: any one."
    )
    schedule: ScheduleExpression = "rate(1 day)"
    window_hours: int = Field(default=24, ge=1, le=24 * 31, description="Capture read per run.")
    instance_type: str = Field(default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")


class Retraining(Declaration):
    """Train a new version on spot, evaluate it, register it for approval."""

    data: S3Uri = Field(description="Training data prefix (the 'train' channel).")
    metric: str = Field(
        pattern=r"^[A-Za-z0-9_:.-]{1,64}$", description="The metric evaluation reports."
    )
    minimum: float = Field(description="The metric must reach it for the version to register.")
    image: str | None = Field(
        default=None, description="Training image (ECR); default: the framework's own."
    )
    entry_point: str = Field(
        default="train.py",
        description="Framework containers: the script they run. It saves an MLflow model into "
        "SM_MODEL_DIR: the model.tar.gz promotion serves (README, 'The training contract').",
    )
    evaluation_data: S3Uri | None = Field(default=None, description="Default: <data>/../test/.")
    instance_type: str = Field(default="ml.m5.xlarge", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
    spot: bool = True
    max_runtime_seconds: int = Field(default=3600, ge=60, le=28 * 86400)
    max_wait_seconds: int | None = Field(
        default=None, ge=60, le=28 * 86400, description="Spot only; default twice the runtime."
    )
    checkpoints: bool = Field(default=True, description="Spot must checkpoint (to S3).")
    on_drift: bool = Field(default=True, description="Retrain when the drift alarm fires.")
    schedule: ScheduleExpression | None = None
    approval: Literal["manual", "automatic"] = "manual"
    hyperparameters: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _evaluation_has_a_default(self):
        if self.evaluation_data is None and "/" not in self.data.removeprefix("s3://").rstrip("/"):
            raise ValueError(
                f"data {self.data!r} is a bucket's root: the default evaluation data is the "
                "test/ folder beside the training data's, which a root has not; give "
                "evaluation_data, or put the training data in a folder"
            )
        return self

    @property
    def evaluation_uri(self) -> str:
        """Where evaluation reads: the declared prefix, or the ``test/`` beside the training data
        (the pipeline's parameter and its role's read grant both use this one value)."""
        return self.evaluation_data or self.data.rstrip("/").rsplit("/", 1)[0] + "/test/"

    @property
    def effective_max_wait_seconds(self) -> int | None:
        if not self.spot:
            return None
        return self.max_wait_seconds or 2 * self.max_runtime_seconds


def lifecycle_problems(model, path: str, production: bool, settings=None) -> Iterator[Problem]:
    """Rules across ``monitoring``, ``retraining``, the model and its environment
    (``settings``: the environment's, when they parsed)."""
    monitoring, retraining = model.monitoring, model.retraining
    if (monitoring or retraining) and settings is not None:
        image = settings.lifecycle.image
        if image is None:
            yield Problem(
                f"{path}.monitoring" if monitoring else f"{path}.retraining",
                "needs the lifecycle image (config lifecycle.image in Pulumi.<env>.yaml): "
                "the drift job and evaluation run in it",
            )
        elif not ECR_IMAGE.match(image):
            yield Problem("config.lifecycle.image", f"{image!r} is not an ECR image URI")
    if monitoring is not None:
        if model.serving != "sagemaker-mme":
            yield Problem(
                f"{path}.monitoring",
                "drift is computed from SageMaker data capture: only sagemaker-mme models "
                "capture their requests",
            )
        elif model.data_capture_percent == 0:
            yield Problem(
                f"{path}.monitoring",
                "needs captured requests: data_capture_percent is 0",
            )
        if monitoring.schedule.startswith("at("):
            yield Problem(
                f"{path}.monitoring.schedule",
                "drift is watched on a recurring schedule: use rate(...) or cron(...)",
            )
        if (
            monitoring.method == "ks"
            and monitoring.threshold is not None
            and monitoring.threshold >= 1
        ):
            yield Problem(f"{path}.monitoring.threshold", "a KS threshold is a p-value: below 1")
    if retraining is None:
        return
    where = f"{path}.retraining"
    if retraining.on_drift and monitoring is None:
        yield Problem(
            f"{where}.on_drift",
            "drift-triggered retraining needs monitoring: declare monitoring=Monitoring(), "
            "or set on_drift=False and a schedule",
        )
    if not retraining.on_drift and retraining.schedule is None:
        yield Problem(f"{where}.schedule", "no trigger: set on_drift=True or a schedule")
    if retraining.spot:
        wait = retraining.effective_max_wait_seconds
        if wait is not None and wait < retraining.max_runtime_seconds:
            yield Problem(
                f"{where}.max_wait_seconds",
                f"{wait} is below max_runtime_seconds ({retraining.max_runtime_seconds}): "
                "SageMaker requires MaxWaitTimeInSeconds >= MaxRuntimeInSeconds for spot",
            )
        if not retraining.checkpoints:
            yield Problem(
                f"{where}.checkpoints",
                "spot training must checkpoint: an interruption would restart from zero",
            )
    elif retraining.max_wait_seconds is not None:
        yield Problem(
            f"{where}.max_wait_seconds", "applies to spot training only (spot=False here)"
        )
    if retraining.image is not None and not ECR_IMAGE.match(retraining.image):
        yield Problem(f"{where}.image", f"{retraining.image!r} is not an ECR image URI")
    elif retraining.image is None and settings is not None:
        from infra import catalog

        try:
            catalog.training_image(
                model.framework, model.framework_version, settings.region, retraining.instance_type
            )
        except (catalog.UnknownImage, ValueError, KeyError) as error:
            yield Problem(
                f"{where}.image",
                f"no {model.framework} {model.framework_version} training image to default to "
                f"({error}): set image",
            )
    if production and retraining.approval == "automatic":
        yield Problem(
            f"{where}.approval",
            "prod registers new versions for manual approval only: set approval='manual'",
        )
