"""S3 locations as declarations write them."""

from __future__ import annotations

import re

from infra.s3_names import BUCKET_NAME

# s3://bucket/prefix/ : bucket names as S3 allows them (3-63, lowercase, digits, '.', '-');
# \Z, not $: Python's $ also matches before a final newline.
S3_PREFIX = re.compile(rf"^s3://(?P<bucket>{BUCKET_NAME})/(?P<key>(?:[^/]+/)*)\Z")


# Characters IAM reads as wildcards or policy variables in an ARN: a prefix holding one would
# grant more (or other) than the folder it names, and be compared literally here.
IAM_SPECIAL = frozenset("*?[]$")


def s3_prefix_problem(value: str) -> str | None:
    if not S3_PREFIX.match(value):
        return f"{value!r} is not an S3 prefix s3://<bucket>/<prefix>/ (ending in '/')"
    special = sorted(IAM_SPECIAL & set(value))
    if special:
        return (
            f"{value!r} contains {' '.join(special)}, which IAM reads as a wildcard or a "
            "policy variable: name the folder literally"
        )
    return None
