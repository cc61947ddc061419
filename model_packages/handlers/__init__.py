"""Inference handlers copied into model archives (they run inside the serving containers)."""
