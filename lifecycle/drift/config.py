"""The drift job's settings: one JSON document, from ``--config-file PATH``, ``--config JSON``,
the ``MLPLAT_DRIFT_CONFIG`` environment variable, or else ``CONFIG_FILE`` (an input channel).
Every problem is reported at once, with its field path.

CreateProcessingJob limits each ``Environment`` value and each ``ContainerArguments`` item to 256
characters (botocore sagemaker model: ProcessingEnvironmentValue, ContainerArgument), which a
config naming many models exceeds: a real job gets its config as a file in an input channel;
inline JSON is for small runs and tests.

Paths default to a Processing job's conventional channels under ``/opt/ml/processing``; the
job definition must give its inputs and output the same ``LocalPath``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from components.lifecycle.definitions import DRIFT_CONFIG_FILE, DRIFT_WINDOW_END_ENV
from infra.declarations.model import ModelName, TeamName

CONFIG_ENV = "MLPLAT_DRIFT_CONFIG"
# A scheduled run's window ends when its pipeline execution started (the pipeline passes
# Execution.StartDateTime in WINDOW_END_ENV) and reaches back ``window_hours``; a config's own
# window wins. The drift pipeline (components/lifecycle/definitions.py) owns both names.
WINDOW_END_ENV = DRIFT_WINDOW_END_ENV
PROCESSING = Path("/opt/ml/processing")
CONFIG_FILE = Path(DRIFT_CONFIG_FILE)
# Measured in benchmarks/README.md ("drift_job.py quality"): at these defaults a 0.5-std shift in
# one of 20 features is found in every 1,000-row window, with false alarms well under 5%.
DEFAULT_THRESHOLD = {"ks": 0.01, "psi": 0.1}


class ConfigError(ValueError):
    """The job's configuration is unusable; the message names each field and why."""


class MonitoredModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    team: TeamName
    # The share of this model's captured records to read: its declared capture rate over its
    # endpoint's (an endpoint captures at the most any of its models asked for when it opened).
    captured_share: float = Field(default=1.0, ge=0, le=1)
    # None: every feature of the baseline.
    features: tuple[str, ...] | None = Field(default=None, min_length=1)
    # A declared baseline CSV in S3, fetched into the baseline folder before the run; None: the
    # baseline channel's <model>/v<version>.csv.
    baseline_uri: str | None = Field(default=None, pattern=r"^s3://[^/]+/.+")


class Window(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self):
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a timezone (e.g. 2026-11-30T13:00:00Z)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class JobConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: str = Field(min_length=1)
    window: Window
    window_hours: int = Field(default=24, ge=1)
    models: dict[ModelName, MonitoredModel] = Field(min_length=1)
    method: Literal["ks", "psi"] = "ks"
    threshold: float | None = Field(default=None, gt=0, description="defaults by method")
    drift_share: float = Field(default=0.0, ge=0, le=1)
    min_rows: int = Field(default=100, ge=2)
    reservoir_size: int = Field(default=2000, ge=100)
    baseline_rows: int = Field(default=5000, ge=100)
    seed: int | None = None
    capture_dir: Path = PROCESSING / "input" / "capture"
    baseline_dir: Path = PROCESSING / "input" / "baselines"
    output_dir: Path = PROCESSING / "output" / "report"
    registry_table: str | None = None
    report_bucket: str | None = None
    report_prefix: str = "drift/"
    metric_namespace: str = "mlplat/Drift"
    feature_metrics: bool = True
    region: str | None = None

    @property
    def drift_threshold(self) -> float:
        return self.threshold if self.threshold is not None else DEFAULT_THRESHOLD[self.method]


def load_config(argv: list[str], environ=os.environ, default_file: Path = CONFIG_FILE) -> JobConfig:
    """The job's config from its arguments, environment or input channel; ConfigError naming
    every problem."""
    if len(argv) == 2 and argv[0] == "--config":
        text = argv[1]
    elif len(argv) == 2 and argv[0] == "--config-file":
        text = _read(Path(argv[1]), "--config-file")
    elif not argv and environ.get(CONFIG_ENV):
        text = environ[CONFIG_ENV]
    elif not argv:
        text = _read(default_file, f"no --config, --config-file or {CONFIG_ENV}; config file")
    else:
        raise ConfigError(
            f"usage: --config-file PATH | --config JSON | environment variable {CONFIG_ENV} "
            f"| a config file at {CONFIG_FILE}"
        )
    try:
        data = json.loads(text)
        if isinstance(data, dict) and "window" not in data and environ.get(WINDOW_END_ENV):
            data["window"] = _window_ending(environ[WINDOW_END_ENV], data.get("window_hours", 24))
        return JobConfig.model_validate(data)
    except json.JSONDecodeError as error:
        raise ConfigError(f"config is not JSON: {error}") from None
    except ValidationError as error:
        problems = [
            f"config.{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        ]
        raise ConfigError("\n".join(problems)) from None


def _window_ending(end: str, hours) -> dict:
    try:
        stop = datetime.fromisoformat(end)
        return {"start": (stop - timedelta(hours=int(hours))).isoformat(), "end": stop.isoformat()}
    except (TypeError, ValueError):
        raise ConfigError(
            f"{WINDOW_END_ENV}={end!r} (or window_hours={hours!r}) is not a time and a number"
        ) from None


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise ConfigError(f"{what} {path}: {error.strerror}") from None
