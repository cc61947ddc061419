"""The S3 outside the platform's buckets that a model reads and writes, and the rule that each
path falls under its team's declared data prefixes (``Team.data``): the team's permissions
boundary names those prefixes, so a path outside them would be denied at run time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from infra.declarations.environment import Team
from infra.declarations.errors import Problem
from infra.declarations.model import ModelDeclaration
from infra.declarations.s3 import s3_prefix_problem

# What reads each path: the lifecycle (retraining, evaluation, drift baseline) or a batch job.
Use = Literal["training", "evaluation", "baseline", "batch-input", "batch-output"]
LIFECYCLE_USES: frozenset[Use] = frozenset({"training", "evaluation", "baseline"})


@dataclass(frozen=True)
class DataPath:
    field: str  # the declaration's field, as a problem names it (relative to the model)
    uri: str
    use: Use

    @property
    def mode(self) -> Literal["read", "write"]:
        return "write" if self.use == "batch-output" else "read"


def external_paths(model: ModelDeclaration) -> list[DataPath]:
    """Every S3 path ``model`` declares outside the platform's buckets, with the field naming it."""
    paths = []
    if model.retraining:
        r = model.retraining
        paths += [
            DataPath("retraining.data", r.data, "training"),
            DataPath("retraining.evaluation_data", r.evaluation_uri, "evaluation"),
        ]
    if model.monitoring and model.monitoring.baseline.startswith("s3://"):
        paths.append(DataPath("monitoring.baseline", model.monitoring.baseline, "baseline"))
    for index, job in enumerate(model.batch):
        if job.input.s3:
            paths.append(DataPath(f"batch[{index}].input.s3", job.input.s3, "batch-input"))
        paths.append(DataPath(f"batch[{index}].output", job.output, "batch-output"))
    return paths


def data_access_problems(model: ModelDeclaration, path: str, team: Team) -> Iterator[Problem]:
    """Each of ``model``'s paths outside its team's prefixes of the same mode."""
    for declared in external_paths(model):
        if declared.use.startswith("batch") and s3_prefix_problem(declared.uri):
            continue  # not an S3 prefix at all: reported as such (batch.py)
        prefixes = getattr(team.data, declared.mode)
        if any(declared.uri.startswith(prefix) for prefix in prefixes):
            continue
        default = (
            " (the default evaluation data, beside the training data)"
            if declared.use == "evaluation" and model.retraining.evaluation_data is None
            else ""
        )
        yield Problem(
            f"{path}.{declared.field}",
            f"{declared.uri!r}{default} is under none of team {team.name!r}'s data.{declared.mode} "
            f"prefixes ({', '.join(prefixes) or 'none declared'}): add a prefix holding it to "
            f"the team's data.{declared.mode} in the stack file (the team's permissions boundary "
            "grants those prefixes only)",
        )
