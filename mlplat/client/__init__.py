"""One client for every model: ``predict(model, payload, version=None)``.

See the README's "Calling a model" for the route resolution, InferenceId contract and metrics.
"""

from mlplat.client.client import Client, predict
from mlplat.client.errors import (
    BackendThrottled,
    BackendUnavailable,
    DeadlineExceeded,
    ModelError,
    NotAuthorized,
    PredictionError,
    RequestRejected,
    UnknownModel,
    VersionNotServed,
)

__all__ = [
    "BackendThrottled",
    "BackendUnavailable",
    "Client",
    "DeadlineExceeded",
    "ModelError",
    "NotAuthorized",
    "PredictionError",
    "RequestRejected",
    "UnknownModel",
    "VersionNotServed",
    "predict",
]
