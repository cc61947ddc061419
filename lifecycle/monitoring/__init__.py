"""Monitoring of served models: the metric names they emit and the alert rules generated for them."""
