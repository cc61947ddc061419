"""S3's naming rule for buckets, shared by the declarations and model packaging.

A leaf module (it imports nothing of the project), so ``model_packages`` can use it without
importing ``infra.declarations``, whose rules import ``model_packages``.
"""

# S3 user guide, "General purpose bucket naming rules": 3-63 characters of lowercase letters,
# digits, '.' and '-', a letter or digit at each end, no two adjacent periods, and none of the
# prefixes S3 reserves. (The reserved suffixes, e.g. -s3alias, and IP-address-shaped names are
# not checked: the pattern is embedded in longer URIs, where the name's end is not anchored.)
BUCKET_NAME = r"(?!xn--|sthree-|amzn-s3-demo-)[a-z0-9](?:[a-z0-9-]|\.(?!\.)){1,61}[a-z0-9]"
