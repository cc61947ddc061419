"""Blast radius through exports: adding, changing or removing a model changes no resource outside
its team's serving stack (the platform and every other team's stack preview identical)."""

from __future__ import annotations

import pytest

from infra.layers import serving_stack
from mlplat.touched import touched_stacks


def _added(models):
    template = next(m for m in models if getattr(m, "name", "") == "fraud-scorer")
    # Another framework: a new endpoint, and an image the team's execution role must pull.
    shadow = {"name": "fraud-scorer-shadow", "framework": "xgboost", "framework_version": "1.7-1"}
    return [*models, template.model_copy(update=shadow)]


def _changed(models):
    return [
        m.model_copy(update={"version": m.version + 1})
        if getattr(m, "name", "") == "fraud-scorer"
        else m
        for m in models
    ]


def _removed(models):
    return [m for m in models if getattr(m, "name", "") != "chargeback-risk"]


def _growth_eks_changed(models):
    from model_packages import recs_ranker

    eks = recs_ranker.model.model_copy(update={"version": recs_ranker.model.version + 1})
    return [m for m in models if getattr(m, "name", "recs-ranker") != "recs-ranker"] + [eks]


@pytest.mark.parametrize(
    ("edit", "team"),
    [(_added, "fraud"), (_changed, "fraud"), (_removed, "fraud"), (_growth_eks_changed, "growth")],
)
def test_a_model_change_touches_only_its_teams_serving_stack(
    layer_exports, layers_with_models, edit, team
):
    before = layer_exports("dev")
    after = layers_with_models("dev", edit)
    assert touched_stacks(before, after) == [serving_stack("dev", team)]
