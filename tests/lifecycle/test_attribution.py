"""The InferenceId contract: what clients mint, the job reads back; anything else is refused."""

from __future__ import annotations

import re

import botocore.session
import pytest

from infra.declarations.model import MODEL_NAME_MAX
from lifecycle.attribution import MalformedInferenceId, inference_id, parse_inference_id


@pytest.fixture(scope="module")
def inference_id_shape():
    """InvokeEndpoint's own constraints on InferenceId, from botocore's service model."""
    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    return model.operation_model("InvokeEndpoint").input_shape.members["InferenceId"].metadata


@pytest.mark.parametrize(
    ("model", "version"), [("churn", 1), ("a", 42), ("m" * MODEL_NAME_MAX, 9999)]
)
def test_minted_ids_fit_invoke_endpoint_and_read_back(model, version, inference_id_shape):
    value = inference_id(model, version)
    assert inference_id_shape["min"] <= len(value) <= inference_id_shape["max"]
    # The service pattern \A\S[\p{Print}]*\z: a non-space first character, then printable ASCII.
    assert re.fullmatch(r"\S[\x20-\x7e]*", value)
    parsed = parse_inference_id(value)
    assert (parsed.model, parsed.version) == (model, version)
    assert len(parsed.token) >= 8


def test_tokens_differ_per_request():
    assert inference_id("churn", 1) != inference_id("churn", 1)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "churn",  # no version, no token
        "churn@1:abcdefgh",  # version without "v"
        "churn@v0:abcdefgh",  # versions start at 1
        "Churn@v1:abcdefgh",  # not a declared (lowercase) model name
        "-churn@v1:abcdefgh",
        "churn@v1:abc",  # token too short
        "churn@v1:abcdefgh!",  # token charset
        "churn@v1:" + "a" * 56,  # 65 characters: InvokeEndpoint would refuse it
        "x" * 49 + "@v1:abcdefgh",  # model name longer than a declaration allows
        "3f2b9c1e-5d4a-4a8e-9b1c-7e6d5c4b3a21",  # SageMaker's own generated id shape
    ],
)
def test_malformed_ids_are_refused(value):
    with pytest.raises(MalformedInferenceId):
        parse_inference_id(value)


def test_minting_refuses_what_it_could_not_read_back():
    with pytest.raises(MalformedInferenceId):
        inference_id("Churn", 1)
    with pytest.raises(MalformedInferenceId):
        inference_id("churn", 0)
    with pytest.raises(MalformedInferenceId, match="leaves"):
        inference_id("m" * MODEL_NAME_MAX, 10**9)
