"""A prediction's request and response as rows: (features, output) per predicted row.

The request is what the model server reads (``model_packages/handlers``): a JSON row (numbers,
or an object of named features), a list of rows, or ``{"instances"|"inputs": rows}``, the shapes
the drift job reads from capture (``lifecycle.drift.capture``). The response is a JSON list with
one output per row (or ``{"predictions": [...]}``), or one value for a one-row request. A row of
numbers becomes an object keyed by the model's feature names when the gateway knows them, by
column index otherwise (an event's features are an object: ``lifecycle.events``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


class Unpaired(ValueError):
    """Request and response that do not pair up row for row; the event is not published."""


def _rows(body: Any) -> list:
    if isinstance(body, dict):
        for key in ("instances", "inputs"):
            if key in body:
                return _rows(body[key])
        return [body]
    if isinstance(body, list) and body and all(isinstance(v, int | float) for v in body):
        return [body]
    if isinstance(body, list) and body and all(isinstance(r, list | dict) for r in body):
        return body
    raise Unpaired("request: not a row, a list of rows, or {'instances': rows}")


def _features(row: Any, names: Sequence[str]) -> dict[str, Any]:
    if isinstance(row, dict):
        return row
    if names and len(names) != len(row):
        raise Unpaired(f"request row has {len(row)} values; the model has {len(names)} features")
    return dict(zip(names or [str(i) for i in range(len(row))], row, strict=True))


def paired_rows(
    request: bytes, response: bytes, names: Sequence[str] = ()
) -> list[tuple[dict[str, Any], Any]]:
    try:
        rows, outputs = _rows(json.loads(request)), json.loads(response)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise Unpaired(f"not JSON: {error}") from None
    if isinstance(outputs, dict) and "predictions" in outputs:
        outputs = outputs["predictions"]
    if len(rows) == 1 and not (isinstance(outputs, list) and len(outputs) == 1):
        outputs = [outputs]  # one row, one (possibly structured) output
    if not isinstance(outputs, list) or len(outputs) != len(rows):
        raise Unpaired(f"{len(rows)} request rows, response is not a list of as many outputs")
    return [(_features(row, names), output) for row, output in zip(rows, outputs, strict=True)]
