"""Blast radius through exports: adding, changing or removing a model changes no resource outside
its team's serving stack (the platform and every other team's stack preview identical)."""

from __future__ import annotations

import pytest

from infra.declarations.batch import BatchJob
from infra.layers import serving_stack
from mlplat.touched import touched_stacks


def _declared(models, **fields):
    """The declared models (not overrides) with these field values, in declaration order: the
    test works on whatever dev declares, not on the shipped examples by name."""
    return [m for m in models if all(getattr(m, k, None) == v for k, v in fields.items())]


def _added(models):
    template = _declared(models, serving="sagemaker-mme", framework="sklearn")[0]
    # Another framework: a new endpoint, and an image the team's execution role must pull.
    shadow = {
        "name": f"{template.name[:40]}-shadow",
        "framework": "xgboost",
        "framework_version": "1.7-1",
    }
    return [*models, template.model_copy(update=shadow)], template.team


def _changed(models):
    target = _declared(models, serving="sagemaker-mme")[0]
    bump = {"version": target.version + 1}
    changed = [m.model_copy(update=bump) if m is target else m for m in models]
    return changed, target.team


def _removed(models):
    target = _declared(models, serving="sagemaker-mme")[-1]
    return [m for m in models if m is not target], target.team


def _growth_eks_changed(models):
    from model_packages import recs_ranker

    eks = recs_ranker.model.model_copy(update={"version": recs_ranker.model.version + 1})
    kept = [m for m in models if getattr(m, "name", "recs-ranker") != "recs-ranker"]
    return [*kept, eks], eks.team


def _new_data_and_job(models):
    """A model that declares new S3 paths (its training data, a batch job's input and output)
    under its team's prefixes: the team's boundary, in the platform stack, names the prefixes,
    so nothing there changes."""
    import stacks.dev

    team = next(t for t in stacks.dev.teams if t.data.read and t.data.write and t.batch_quota)
    target = next(m for m in _declared(models, team=team.name) if m.retraining)
    read, write = team.data.read[0], team.data.write[0]
    job = {
        "name": "new-paths",
        "input": {"s3": f"{read}new-paths/in/", "format": "parquet"},
        "output": f"{write}new-paths/out/",
        "on_demand": True,
        "size": {"executors": 1, "executor_cores": 1},
    }
    update = {
        "retraining": target.retraining.model_copy(
            update={"data": f"{read}new-paths/train/", "evaluation_data": None}
        ),
        "batch": (*target.batch, BatchJob.model_validate(job)),
    }
    changed = [m.model_copy(update=update) if m is target else m for m in models]
    return changed, team.name


@pytest.mark.parametrize(
    "edit", [_added, _changed, _removed, _growth_eks_changed, _new_data_and_job]
)
def test_a_model_change_touches_only_its_teams_serving_stack(
    layer_exports, layers_with_models, edit
):
    owner = {}

    def edited(models):
        models, owner["team"] = edit(models)
        return models

    before = layer_exports("dev")
    after = layers_with_models("dev", edited)
    assert touched_stacks(before, after) == [serving_stack("dev", owner["team"])]
