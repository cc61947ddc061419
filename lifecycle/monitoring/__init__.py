"""Monitoring of served models: the metrics they emit and the alert rules generated for them."""
