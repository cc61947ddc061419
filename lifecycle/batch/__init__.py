"""Batch scoring: a table in, the model's predictions out, on Spark (issue 18).

The job (``score``) runs unchanged on a local Spark (``mlplat batch run``, ``local``) and under
``spark-submit`` on EMR (``python -m lifecycle.batch.score``)."""
