"""S3's naming rule for buckets, shared by the declarations and model packaging.

A leaf module (it imports nothing of the project), so ``model_packages`` can use it without
importing ``infra.declarations``, whose rules import ``model_packages``.
"""

import re

# S3 user guide, "General purpose bucket naming rules": 3-63 characters of lowercase letters,
# digits, '.' and '-', a letter or digit at each end, no two adjacent periods, and none of the
# prefixes S3 reserves. (The reserved suffixes, e.g. -s3alias, and IP-address-shaped names are
# not checked: the pattern is embedded in longer URIs, where the name's end is not anchored.)
BUCKET_NAME = r"(?!xn--|sthree-|amzn-s3-demo-)[a-z0-9](?:[a-z0-9-]|\.(?!\.)){1,61}[a-z0-9]"

# The name alone, as a declaration field's pattern: compiled, so pydantic runs it with Python's
# `re` (the look-ahead), and ended with \Z, not `$`, which would also take a trailing newline.
BUCKET_NAME_ONLY = re.compile(rf"^{BUCKET_NAME}\Z")
# s3://<bucket>, optionally followed by /<key> (no newline in it).
S3_URI = re.compile(rf"^s3://{BUCKET_NAME}(/.*)?\Z")
