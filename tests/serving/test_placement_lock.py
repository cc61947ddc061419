"""The committed placement locks are current, as `uv lock --check` checks a lock file."""

from __future__ import annotations

import pytest

from components.serving.placement import place_models, read_placement_lock
from infra.loader import load_environment, read_stack_config
from tests.conftest import STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_lock_places_every_model_of_the_stack(stack):
    spec = load_environment(stack, read_stack_config(stack))
    committed = read_placement_lock(stack)
    assert place_models(spec, committed) == committed, (
        f"stacks/{stack}.placement.json is stale: run `mlplat models place --stack {stack}` "
        "and commit it"
    )
