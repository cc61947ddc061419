"""The SageMaker rules: what each says about which variant, and the shapes they cover (several
variants, a VPC half configured, an endpoint linked to its configuration by name only)."""

from __future__ import annotations

import copy

import pytest
from policy_cases import (
    DELETE,
    changed,
    endpoint_configuration,
    endpoint_stack,
    export,
    in_stack,
    sagemaker_model,
)

from mlplat.policy_check import check
from policies.registry import policy_named


def found(rule: str, *entries: dict) -> list[tuple[str, str]]:
    violations = check(export(*entries), policies=[policy_named(rule)])
    return [(v.urn.rsplit("::", 1)[-1], v.message) for v in violations]


def messages(rule: str, *entries: dict) -> list[str]:
    return [message for _, message in found(rule, *entries)]


def with_variants(*variants: dict) -> dict:
    base = endpoint_configuration()["inputs"]["productionVariants"][0]
    return changed(
        endpoint_configuration(),
        "productionVariants",
        [{**copy.deepcopy(base), **variant} for variant in variants],
    )


# --- data capture ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("dataCaptureConfig", DELETE, ["no dataCaptureConfig"]),
        ("dataCaptureConfig.enableCapture", False, ["dataCaptureConfig.enableCapture is false"]),
        (
            "dataCaptureConfig.initialSamplingPercentage",
            0,
            ["dataCaptureConfig.initialSamplingPercentage is 0 or missing"],
        ),
        (
            "dataCaptureConfig.destinationS3Uri",
            DELETE,
            ["dataCaptureConfig.destinationS3Uri is missing"],
        ),
    ],
)
def test_data_capture_says_which_setting_is_off(path, value, expected):
    config = changed(endpoint_configuration(), path, value)
    assert messages("sagemaker-data-capture-in-prod", config) == expected
    assert messages("sagemaker-data-capture-in-prod", in_stack(config, "dev")) == []


# --- the storage key ---------------------------------------------------------------------------


def test_a_key_is_refused_exactly_when_a_variant_has_instance_storage():
    rule = "sagemaker-endpoint-config-kms-key"
    local = with_variants(
        {"variantName": "b", "instanceType": "ml.m5d.large"},
        {"variantName": "a", "instanceType": "ml.g5.xlarge"},
        {"variantName": "c", "instanceType": "ml.m5.xlarge"},
    )
    assert messages(rule, local) == [
        "kmsKeyArn is set, but ml.g5.xlarge, ml.m5d.large has instance storage: "
        "SageMaker rejects it"
    ]
    assert messages(rule, changed(local, "kmsKeyArn", DELETE)) == []
    assert messages(rule, changed(endpoint_configuration(), "kmsKeyArn", DELETE)) == [
        "no kmsKeyArn"
    ]


# --- instance types and counts per variant -----------------------------------------------------


def test_each_variant_of_a_disallowed_type_or_too_few_instances_is_named():
    config = with_variants(
        {"variantName": "primary"},
        {"variantName": "big", "instanceType": "ml.p3.2xlarge", "initialInstanceCount": 1},
        {"variantName": "untyped", "instanceType": None},
    )
    assert messages("sagemaker-instance-type-allowed", config) == [
        "variant big uses ml.p3.2xlarge",
        "variant untyped uses no type",
    ]
    assert messages("sagemaker-min-instances-in-prod", config) == [
        "variant big has initialInstanceCount 1"
    ]


# --- a model's network ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vpc", "isolated"),
    [
        ({"subnets": ["subnet-1"], "securityGroupIds": ["sg-1"]}, True),
        ({"subnets": ["subnet-1"]}, False),
        ({"subnets": ["subnet-1"], "securityGroupIds": []}, False),
        ({"subnets": [], "securityGroupIds": ["sg-1"]}, False),
    ],
)
def test_a_model_runs_in_the_vpc_only_with_subnets_and_security_groups(vpc, isolated):
    model = changed(sagemaker_model(), "enableNetworkIsolation", False)
    model = changed(model, "vpcConfig", vpc)
    expected = [] if isolated else ["neither enableNetworkIsolation nor vpcConfig is set"]
    assert messages("sagemaker-model-isolation-in-prod", model) == expected


# --- autoscaling, endpoint by endpoint ---------------------------------------------------------


def test_every_endpoint_is_judged_and_named_for_its_own_scaling():
    config, endpoint, target, policy = endpoint_stack()
    # linked by name only (an exported graph of resolved values), not by dependency
    by_name = {**endpoint, "propertyDependencies": {}, "dependencies": []}
    stray = changed(endpoint, "endpointConfigName", "gone-config")
    stray["urn"] = stray["urn"].replace("::cpu-sklearn", "::stray")
    stray["propertyDependencies"] = {}
    rule = "sagemaker-variant-autoscaling"
    assert found(rule, config, by_name, target, policy) == []
    assert found(rule, config, stray, by_name, target) == [
        ("stray", "its endpoint configuration is not part of this stack"),
        ("cpu-sklearn", "no scaling policy for endpoint/cpu-sklearn/variant/primary"),
    ]


def test_a_variant_without_a_scaling_target_is_named():
    config, endpoint, _, policy = endpoint_stack()
    assert found("sagemaker-variant-autoscaling", config, endpoint, policy) == [
        ("cpu-sklearn", "no scaling target for endpoint/cpu-sklearn/variant/primary")
    ]
