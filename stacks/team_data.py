"""What the teams' models use outside the platform, alike in every environment: the S3 prefixes
they read and write (Team.data: the teams' permissions boundaries grant these only) and the
growth team's Spark namespace quota. Not a stack: the stack files import it."""

FRAUD_DATA = {"read": ("s3://example-org-ml-data/fraud/",)}  # training data

GROWTH_DATA = {
    "read": ("s3://example-org-ml-data/growth/", "s3://acme-growth-warehouse/subscribers/"),
    "write": ("s3://acme-growth-warehouse/churn-scores/",),  # batch outputs
}
# Every batch job of the team at once (churn-predictor's nightly run needs 10 vCPU, 27.2 GiB
# with PySpark's memory overhead, and 6 pods), with room for another of that size.
GROWTH_BATCH_QUOTA = {"cpu": 24, "memory_gib": 64, "pods": 16}
