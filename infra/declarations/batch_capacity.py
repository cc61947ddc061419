"""A team's batch jobs against its declared Spark namespace quota (``Team.batch_quota``): every
job of the team may run at once (the schedules are independent), so together they must fit; a
pod over the quota is refused by Kubernetes and its run fails."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from infra.declarations.batch import run_requests
from infra.declarations.environment import Team
from infra.declarations.errors import Problem
from infra.declarations.model import ModelDeclaration


def batch_capacity_problems(
    team: Team, team_path: str, models: Sequence[tuple[int, ModelDeclaration]]
) -> Iterator[Problem]:
    """``models``: the team's, each with its index in the stack's models list."""
    jobs = [(index, model, job) for index, model in models for job in model.batch]
    if not jobs:
        return
    each = [run_requests(job.size) for *_, job in jobs]
    cpu, memory, pods = (sum(column) for column in zip(*each, strict=True))
    needed = f"cpu {cpu}, memory_gib {math.ceil(memory)}, pods {pods}"
    quota = team.batch_quota
    if quota is None:
        index, model, _ = jobs[0]
        yield Problem(
            f"models[{index}].batch",
            f"team {team.name!r} declares no batch_quota, so it has no Spark namespace: add "
            f"batch_quota to the team in the stack file, at least what its jobs need at once "
            f"({needed})",
        )
        return
    for field, have, need in (
        ("cpu", quota.cpu, cpu),
        ("memory_gib", quota.memory_gib, memory),
        ("pods", quota.pods, pods),
    ):
        if need > have:
            yield Problem(
                f"{team_path}.batch_quota.{field}",
                f"{have} is less than the team's batch jobs need at once ({needed}; "
                f"{len(jobs)} job(s), each with its driver and EMR's job submitter): raise it",
            )
