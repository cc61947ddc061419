"""Serving models: SageMaker multi-model endpoints (and, in components.kubernetes, EKS)."""
