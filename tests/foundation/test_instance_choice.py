"""A declared instance type is a minimum (default) or an exact type: what each allows, and the
mistakes a declaration can make with it, named by model and field, both sides of each limit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from infra import catalog
from infra.declarations import SpecError
from infra.declarations.instance_choice import allowed_instance_types, models_share_mb
from infra.loader import parse_environment
from tests.foundation.conftest import config_data, model_data, team_data


def _load(**changes):
    return parse_environment(
        "dev", teams=[team_data()], models=[model_data(**changes)], config=config_data()
    )


def _problems(**changes) -> str:
    with pytest.raises(SpecError) as raised:
        _load(**changes)
    return str(raised.value)


def test_exact_needs_a_declared_type():
    text = _problems(instance_type=None, instance_type_mode="exact")
    assert "model 'fraud-scorer'" in text
    assert "instance_type_mode: 'exact' needs instance_type" in text


def test_exact_applies_only_to_endpoint_models():
    text = _problems(
        serving="eks", instance_type=None, instance_type_mode="exact", accepts_spot=False
    )
    assert "instance_type_mode: applies only to sagemaker-mme models" in text
    _load(serving="eks", instance_type=None)  # the default mode is no problem on EKS


def test_an_unknown_mode_is_refused():
    assert "instance_type_mode" in _problems(instance_type_mode="at-least")


@pytest.mark.parametrize("mode", ["minimum", "exact"])
def test_what_each_mode_allows(mode):
    model = _load(instance_type="ml.m5.xlarge", instance_type_mode=mode).models[0]
    allowed = allowed_instance_types(model, "us-east-1")
    if mode == "exact":
        assert [t.name for t in allowed] == ["ml.m5.xlarge"]
        return
    declared = catalog.SAGEMAKER_INSTANCE_TYPES["ml.m5.xlarge"]
    assert "ml.m5.xlarge" in {t.name for t in allowed}
    assert all(catalog.satisfies(t, declared) and not t.has_gpu for t in allowed)
    smaller = {"ml.m5.large", "ml.c5.xlarge", "ml.r5.large"}  # less memory or fewer vCPUs
    assert not smaller & {t.name for t in allowed}
    assert {"ml.r5.xlarge", "ml.m5.2xlarge"} <= {t.name for t in allowed}


def test_a_model_with_no_type_where_none_is_offered_is_named(monkeypatch):
    monkeypatch.setattr(catalog, "mme_instance_types", lambda region, gpu: ())
    text = _problems(instance_type=None)
    assert "instance_type: placement offers no CPU type in us-east-1: declare instance_type" in text
    _load(instance_type="ml.m5.xlarge")  # a declared type meets its own minimum


def test_the_largest_type_placement_may_choose_is_the_memory_boundary():
    allowed = allowed_instance_types(_load(instance_type=None).models[0], "us-east-1")
    largest = max(models_share_mb(t, Decimal("0.7")) for t in allowed)
    _load(instance_type=None, resources={"memory_mb": largest})
    text = _problems(instance_type=None, resources={"memory_mb": largest + 1})
    assert f"{largest + 1} MB is more than the {largest} MB the largest type" in text


def test_an_exact_type_outside_the_catalog_allows_nothing():
    from infra.declarations import ModelDeclaration

    model = ModelDeclaration.model_validate(
        model_data(instance_type="ml.m99.huge", instance_type_mode="exact")
    )
    assert allowed_instance_types(model, "us-east-1") == ()


def test_a_declared_gpu_type_is_a_minimum_among_gpu_types_even_for_a_model_without_gpus():
    """A model that asks for no GPU but declares a GPU type is placed on GPU types at least as
    large (placement may not move it to a CPU type, or keep it on the declared one only)."""
    model = _load(
        framework="pytorch", framework_version="2.1", instance_type="ml.g4dn.xlarge"
    ).models[0]
    declared = catalog.SAGEMAKER_INSTANCE_TYPES["ml.g4dn.xlarge"]
    allowed = allowed_instance_types(model, "us-east-1")
    assert declared in allowed and len(allowed) > 1
    assert all(t.has_gpu and catalog.satisfies(t, declared) for t in allowed)
    assert [t.name for t in allowed] == sorted(t.name for t in allowed)


def test_a_gpu_model_with_no_type_where_none_is_offered_is_named(monkeypatch):
    monkeypatch.setattr(catalog, "mme_instance_types", lambda region, gpu: ())
    model = {
        "framework": "pytorch",
        "framework_version": "2.1",
        "instance_type": None,
        "resources": {"memory_mb": 512, "gpus": 1},
    }
    with pytest.raises(SpecError) as raised:
        _load(**model)
    assert [(p.path, p.message) for p in raised.value.problems] == [
        (
            "models[0].instance_type",
            "placement offers no GPU type in us-east-1: declare instance_type",
        )
    ]


def test_a_model_is_not_sized_against_serving_settings_that_did_not_parse():
    """An invalid serving section is reported at its key; the model's size is not judged
    against a memory fraction that does not exist (nor does validation crash)."""
    config = config_data(**{"mlplat:serving": {"modelMemoryFraction": 2}})
    with pytest.raises(SpecError) as raised:
        parse_environment(
            "dev",
            teams=[team_data()],
            models=[model_data(instance_type=None, resources={"memory_mb": 10**6})],
            config=config,
        )
    assert [p.path for p in raised.value.problems] == ["config.serving.modelMemoryFraction"]


def test_a_model_larger_than_every_type_placement_may_choose_is_told_what_to_do():
    allowed = allowed_instance_types(_load(instance_type=None).models[0], "us-east-1")
    share = max(models_share_mb(t, Decimal("0.7")) for t in allowed)
    # the type named: of those with the largest share, the last by name
    largest = max(
        (t for t in allowed if models_share_mb(t, Decimal("0.7")) == share), key=lambda t: t.name
    )
    with pytest.raises(SpecError) as raised:
        _load(instance_type=None, resources={"memory_mb": share + 1})
    assert [(p.path, p.message) for p in raised.value.problems] == [
        (
            "models[0].resources.memory_mb",
            f"{share + 1} MB is more than the {share} MB the largest type placement may choose "
            f"({largest.name}) leaves to models (serving.modelMemoryFraction 0.7 of "
            f"{largest.memory_mb} MB): lower memory_mb, or declare a larger instance_type with "
            "instance_type_mode='exact'",
        )
    ]


def test_a_minimum_is_judged_only_with_serving_settings_a_region_and_a_known_type():
    """Without serving settings or a region (they did not parse), or for a type outside the
    catalog (reported as unknown by the instance rules), there is nothing to judge against."""
    from infra.declarations import ModelDeclaration
    from infra.declarations.environment import ServingSettings
    from infra.declarations.instance_choice import instance_choice_problems

    def judged(instance_type, serving, region):
        data = model_data(instance_type=instance_type, resources={"memory_mb": 10**6})
        model = ModelDeclaration.model_validate(data)
        return list(instance_choice_problems(model, "models[0]", serving, region))

    serving = ServingSettings()
    assert judged(None, None, "us-east-1") == []
    assert judged(None, serving, None) == []
    assert judged("ml.m99.huge", serving, "us-east-1") == []
    assert [p.path for p in judged(None, serving, "us-east-1")] == ["models[0].resources.memory_mb"]
