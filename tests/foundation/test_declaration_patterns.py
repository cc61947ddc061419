"""A declaration field's ``pattern`` ends where the text ends: pydantic's default engine (Rust's
regex crate) reads ``$`` as the end of the text, Python's ``re`` also before a final newline, so
a declaration must not switch every field to Python's engine (one value with a trailing newline,
say a region from a YAML block scalar, would pass and reach AWS)."""

from __future__ import annotations

import pydantic
import pytest
from pydantic import Field

from infra.declarations.environment import EnvironmentSettings
from infra.declarations.model import Declaration


class _Anchored(Declaration):
    value: str = Field(pattern=r"^[a-z]+-\d$")


def test_a_pattern_of_any_declaration_refuses_a_trailing_newline():
    assert _Anchored(value="us-1").value == "us-1"
    with pytest.raises(pydantic.ValidationError):
        _Anchored(value="us-1\n")


def test_a_region_with_a_trailing_newline_is_refused():
    fields = {"region": "us-east-1", "account": "123456789012"}
    with pytest.raises(pydantic.ValidationError) as refused:
        EnvironmentSettings.model_validate({**fields, "region": "us-east-1\n"})
    assert ("region",) in [e["loc"] for e in refused.value.errors()]
