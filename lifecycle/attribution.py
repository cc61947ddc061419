"""The invocation contract: which model and version produced a captured prediction.

A multi-model endpoint serves many models behind one capture prefix. AWS documents that the
``InferenceId`` a client passes to InvokeEndpoint "is added to the captured data" (botocore's
sagemaker-runtime model, InvokeEndpointInput.InferenceId; it lands in
``eventMetadata.inferenceId``). AWS documents no capture field for ``TargetModel``: the record
format (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html,
"View captured data") has only ``eventId``, ``inferenceTime`` and ``inferenceId`` in its metadata.
So attribution rides on the one field AWS confirms: every client sets

    InferenceId = "<model>@v<version>:<token>"

``<model>`` is the declared model name (a DNS-1123 label), ``<version>`` its declared integer
version, ``<token>`` a per-request id of ``[A-Za-z0-9_-]`` (at least 8 characters) the client can
use to join ground truth later. InferenceId allows 1-64 printable characters (botocore shape
``InferenceId``: min 1, max 64, pattern ``\\A\\S[\\p{Print}]*\\z``); this grammar stays inside it.
Anything else is *unattributed*: counted and reported, never guessed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from infra.names import DNS_1123_LABEL, MODEL_NAME_MAX

INFERENCE_ID_MAX = 64  # botocore sagemaker-runtime shape InferenceId: max 64
TOKEN_MIN = 8
TOKEN_MAX = 22  # 22 base64url characters carry 128 random bits, a UUID's worth

_INFERENCE_ID = re.compile(
    r"^(?P<model>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)@v(?P<version>[1-9][0-9]{0,8}):"
    rf"(?P<token>[A-Za-z0-9_-]{{{TOKEN_MIN},}})$"
)


class MalformedInferenceId(ValueError):
    """An InferenceId that does not follow ``<model>@v<version>:<token>``."""


@dataclass(frozen=True)
class Attribution:
    model: str
    version: int
    token: str


def _check_model(model: str) -> None:
    if len(model) > MODEL_NAME_MAX or not DNS_1123_LABEL.match(model):
        raise MalformedInferenceId(
            f"model {model!r} is not a declared model name (DNS-1123 label, "
            f"at most {MODEL_NAME_MAX} characters)"
        )


def parse_inference_id(value: str) -> Attribution:
    """The model, version and token an InferenceId carries; MalformedInferenceId otherwise."""
    if not isinstance(value, str) or not value:
        raise MalformedInferenceId("InferenceId is missing or empty")
    if len(value) > INFERENCE_ID_MAX:
        raise MalformedInferenceId(
            f"InferenceId is {len(value)} characters; InvokeEndpoint allows {INFERENCE_ID_MAX}"
        )
    match = _INFERENCE_ID.match(value)
    if match is None:
        raise MalformedInferenceId(
            f"InferenceId {value!r} does not match '<model>@v<version>:<token>' "
            f"(token: at least {TOKEN_MIN} of [A-Za-z0-9_-])"
        )
    _check_model(match["model"])
    return Attribution(match["model"], int(match["version"]), match["token"])


def inference_id(model: str, version: int, token: str | None = None) -> str:
    """The InferenceId a client passes to InvokeEndpoint for one request to ``model`` v``version``.

    Without ``token`` a random one is drawn, as long as the 64-character limit leaves room for
    (at most 22 characters)."""
    _check_model(model)
    if not isinstance(version, int) or version < 1:
        raise MalformedInferenceId(f"version must be an integer >= 1, got {version!r}")
    prefix = f"{model}@v{version}:"
    room = INFERENCE_ID_MAX - len(prefix)
    if token is None:
        if room < TOKEN_MIN:
            raise MalformedInferenceId(
                f"{prefix!r} leaves {room} characters for the token; {TOKEN_MIN} are needed"
            )
        token = secrets.token_urlsafe(TOKEN_MAX)[: min(room, TOKEN_MAX)]
    value = prefix + token
    parse_inference_id(value)  # one grammar: what we mint, we can read back
    return value


SAMPLING_BUCKETS = 10_000  # shares are kept to 0.01%


def kept_by_sampling(token: str, share: float) -> bool:
    """Whether a captured request with this InferenceId token belongs to the ``share`` (0..1) of
    its model's captures that are kept. A multi-model endpoint captures at one rate for all its
    models (placement records the highest a model asked for when the endpoint opened); a model
    that asked for less is sampled down to its own rate where the captures are read, with
    ``share = model rate / endpoint rate``. The decision is a hash of the token, so every reader
    (and the client, which drew the token) agrees on which requests are kept."""
    digest = hashlib.sha256(token.encode()).digest()
    return int.from_bytes(digest[:8], "big") % SAMPLING_BUCKETS < round(share * SAMPLING_BUCKETS)
