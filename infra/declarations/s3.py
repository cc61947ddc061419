"""S3 locations as declarations write them."""

from __future__ import annotations

import re

# s3://bucket/prefix/ : bucket names as S3 allows them (3-63, lowercase, digits, '.', '-').
S3_PREFIX = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>(?:[^/]+/)*)$")


def s3_prefix_problem(value: str) -> str | None:
    if not S3_PREFIX.match(value):
        return f"{value!r} is not an S3 prefix s3://<bucket>/<prefix>/ (ending in '/')"
    return None
