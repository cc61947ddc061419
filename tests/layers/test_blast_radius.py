"""Blast radius through exports: adding, changing or removing a model changes no resource outside
its team's serving stack (the platform and every other team's stack preview identical)."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize("edit", [_added, _changed, _removed, _growth_eks_changed])
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
