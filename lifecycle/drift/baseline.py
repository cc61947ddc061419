"""Baselines: per model version, a CSV with a header row of feature names, at
``<baseline_dir>/<model>/v<version>.csv`` (the training data of that version, or a sample of it).

At most ``rows`` rows are kept, a uniform sample of the file, so a large training set does not
grow the job's memory."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from lifecycle.drift.stats import Baseline, Reservoir


class BaselineError(ValueError):
    """A baseline file the job cannot use; the message names model, file, line and field."""


def baseline_path(directory: Path, model: str, version: int) -> Path:
    return directory / model / f"v{version}.csv"


def load_baseline(path: Path, model: str, rows: int, rng: np.random.Generator) -> Baseline:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or any(not name.strip() for name in header):
            raise BaselineError(f"model {model}: {path}: line 1: a header of feature names")
        reservoir = Reservoir(rows, len(header), rng)
        chunk: list[list[float]] = []
        for line_number, record in enumerate(reader, start=2):
            if len(record) != len(header):
                raise BaselineError(
                    f"model {model}: {path}: line {line_number}: {len(record)} fields, "
                    f"header has {len(header)}"
                )
            try:
                chunk.append([float(value) for value in record])
            except ValueError:
                field = next(n for n, v in zip(header, record, strict=True) if not _number(v))
                raise BaselineError(
                    f"model {model}: {path}: line {line_number}: field {field!r} is not a number"
                ) from None
            if len(chunk) == 4096:
                reservoir.add(np.asarray(chunk))
                chunk = []
        if chunk:
            reservoir.add(np.asarray(chunk))
    if reservoir.seen < 2:
        raise BaselineError(f"model {model}: {path}: fewer than 2 rows")
    return Baseline(tuple(name.strip() for name in header), reservoir.sample().copy())


def _number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
