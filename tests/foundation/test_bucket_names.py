"""One bucket-name rule (S3's: 3-63 lowercase letters, digits, '.', '-', a letter or digit at each
end, no '..', no reserved prefix) for every place a declaration or a model's artifact names a
bucket, each accepting exactly the names S3 accepts at both ends of the length range."""

from __future__ import annotations

import pydantic
import pytest

from infra.declarations.environment import CiSettings
from infra.declarations.lifecycle import Retraining
from infra.declarations.s3 import s3_prefix_problem
from model_packages.packaging import sagemaker_artifact_problem

VALID = ["abc", "a" * 63, "my.bucket-1", "0bucket9", "a.b.c", "x-n--bucket"]
INVALID = ["ab", "a" * 64, "Bucket", "-bucket", "bucket-", "bucket_name", "buc ket", "a..b"]
RESERVED = ["xn--bucket", "sthree-bucket", "amzn-s3-demo-bucket"]


def _accepts_prefix(bucket: str) -> bool:
    return s3_prefix_problem(f"s3://{bucket}/data/") is None


def _accepts_artifact(bucket: str) -> bool:
    return sagemaker_artifact_problem(f"s3://{bucket}/job/output/model.tar.gz") is None


def _accepts_training_data(bucket: str) -> bool:
    return _training_data_ok(f"s3://{bucket}/train/")


def _training_data_ok(uri: str) -> bool:
    try:
        Retraining.model_validate({"data": uri, "evaluation_data": None})
    except pydantic.ValidationError as error:
        return not any(e["loc"] == ("data",) for e in error.errors())
    return True


def _accepts_state_bucket(bucket: str) -> bool:
    try:
        CiSettings.model_validate({"state_bucket": bucket})
    except pydantic.ValidationError as error:
        return not any(e["loc"] == ("state_bucket",) for e in error.errors())
    return True


CHECKS = [_accepts_prefix, _accepts_artifact, _accepts_training_data, _accepts_state_bucket]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bucket", VALID)
def test_every_name_s3_allows_is_accepted(check, bucket):
    assert check(bucket)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bucket", INVALID + RESERVED)
def test_every_name_s3_refuses_is_refused(check, bucket):
    assert not check(bucket)


def _prefix_ok(uri: str) -> bool:
    return s3_prefix_problem(uri) is None


# A trailing newline (a YAML block scalar ends with one) is no part of a name or URI: Python's `$`
# matches before it, so each rule must end where the text ends.
@pytest.mark.parametrize(
    ("check", "value"),
    [
        (_prefix_ok, "s3://abc/data/"),
        (_training_data_ok, "s3://abc/train/"),
        (_training_data_ok, "s3://abc"),
        (_accepts_state_bucket, "abc"),
    ],
)
def test_a_trailing_newline_is_refused(check, value):
    assert check(value)
    assert not check(f"{value}\n")
