"""Code that runs around serving, not in the Pulumi program: attribution of predictions to their
model and version, and the drift job a SageMaker Processing container runs on the capture data."""
