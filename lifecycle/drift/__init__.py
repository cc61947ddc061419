"""The drift job: capture files of a time window in, per-model drift results out.

Run as a SageMaker Processing container runs it: ``python -m lifecycle.drift``."""
