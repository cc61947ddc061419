"""The invocation contract's edges: each refusal says what is wrong in full (callers show it), a
wrong type is refused as malformed (not a TypeError), and the sampling decision is the
documented function of the token, so any reader can recompute it."""

from __future__ import annotations

import pytest

from lifecycle.attribution import (
    MalformedInferenceId,
    inference_id,
    kept_by_sampling,
    parse_inference_id,
)


@pytest.mark.parametrize("value", ["", None, 42])
def test_a_missing_empty_or_non_text_id_is_named_so(value):
    with pytest.raises(MalformedInferenceId) as refused:
        parse_inference_id(value)
    assert str(refused.value) == "InferenceId is missing or empty"


def test_an_id_over_invoke_endpoints_limit_says_both_lengths():
    value = "m@v1:" + "a" * 60
    with pytest.raises(MalformedInferenceId) as refused:
        parse_inference_id(value)
    assert str(refused.value) == "InferenceId is 65 characters; InvokeEndpoint allows 64"


def test_an_id_of_another_shape_names_the_grammar():
    with pytest.raises(MalformedInferenceId) as refused:
        parse_inference_id("fraud-scorer:v1:abcdefgh")
    assert str(refused.value) == (
        "InferenceId 'fraud-scorer:v1:abcdefgh' does not match '<model>@v<version>:<token>' "
        "(token: at least 8 of [A-Za-z0-9_-])"
    )


def test_a_model_name_no_declaration_could_have_is_named():
    with pytest.raises(MalformedInferenceId) as refused:
        inference_id("Fraud_Scorer", 1)
    assert str(refused.value) == (
        "model 'Fraud_Scorer' is not a declared model name (DNS-1123 label, at most 48 characters)"
    )


@pytest.mark.parametrize("version", [0, -1, "3", 1.0])
def test_a_version_that_is_not_a_positive_integer_is_named(version):
    with pytest.raises(MalformedInferenceId) as refused:
        inference_id("fraud-scorer", version)
    assert str(refused.value) == f"version must be an integer >= 1, got {version!r}"


# (token, its bucket of 10,000): sha256 of the token, first 8 bytes big-endian, modulo 10,000.
BUCKETS = [("abcdefgh", 5658), ("request-000001", 7216), ("Zz_-09AZ", 8290)]


@pytest.mark.parametrize(("token", "bucket"), BUCKETS)
def test_a_token_is_kept_exactly_when_its_bucket_is_under_the_share(token, bucket):
    assert not kept_by_sampling(token, bucket / 10_000)
    assert kept_by_sampling(token, (bucket + 1) / 10_000)
