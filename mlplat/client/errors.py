"""The typed errors of ``predict``: what a caller can tell apart and act on."""

from __future__ import annotations


class PredictionError(Exception):
    """Any failure of a prediction call; ``model`` names the model asked for."""

    def __init__(self, model: str, message: str) -> None:
        super().__init__(f"{model}: {message}")
        self.model = model


class UnknownModel(PredictionError):
    """The registry has no served record for the model (never deployed, or removed)."""


class VersionNotServed(PredictionError):
    """The version asked for is not the one being served (``served`` is)."""

    def __init__(self, model: str, requested: int, served: int, registered: bool) -> None:
        state = "is registered but not served" if registered else "was never registered"
        super().__init__(model, f"version {requested} {state}; version {served} is served")
        self.requested, self.served, self.registered = requested, served, registered


class BackendThrottled(PredictionError):
    """The backend kept throttling (or was still loading the model) until retries ran out."""


class BackendUnavailable(PredictionError):
    """The backend kept failing transiently (5xx, connection errors) until retries ran out."""


class ModelError(PredictionError):
    """The model's container answered with an error; ``message`` is the backend's own text."""

    def __init__(self, model: str, message: str, status: int | None = None) -> None:
        super().__init__(model, f"the model failed (status {status}): {message}")
        self.backend_message, self.status = message, status


class RequestRejected(PredictionError):
    """The backend rejected the request itself (validation, missing endpoint, access denied)."""


class NotAuthorized(RequestRejected):
    """The caller is not let in: the route refused its token (HTTP 401 after one fresh token, or
    403), or its team's credentials were refused or unreadable. ``status``: the HTTP status."""

    def __init__(self, model: str, message: str, status: int | None = None) -> None:
        super().__init__(model, message)
        self.status = status


class DeadlineExceeded(PredictionError):
    """The overall deadline passed before a successful answer; the last failure is the cause."""
