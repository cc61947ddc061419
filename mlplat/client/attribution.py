"""The InferenceId a client sends: ``<model>@v<version>:<token>``, the drift job's contract.

Stand-in until ``lifecycle/attribution.py`` (branch ``drift``) is on main: both must be one
module then. The token is a uuid4's hex, cut so the whole id fits InferenceId's limits
(botocore sagemaker-runtime shape ``InferenceId``: 1-64 characters, pattern
``\\A\\S[\\p{Print}]*\\z``), and never shorter than 8 characters.
"""

from __future__ import annotations

import uuid

INFERENCE_ID_MAX = 64
TOKEN_MIN = 8


def inference_id(model: str, version: int, token: str | None = None) -> str:
    prefix = f"{model}@v{version}:"
    room = INFERENCE_ID_MAX - len(prefix)
    if room < TOKEN_MIN:
        raise ValueError(f"model name {model!r} leaves no room for an InferenceId token")
    return prefix + (token or uuid.uuid4().hex)[:room]
