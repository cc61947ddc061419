"""Per-model capture sampling by InferenceId token: the share asked for, the same answer for the
same token wherever it is computed, nested shares (a request kept at 10% is kept at 20%)."""

from __future__ import annotations

import secrets

import pytest

from lifecycle.attribution import kept_by_sampling

TOKENS = [secrets.token_urlsafe(16) for _ in range(20_000)]


@pytest.mark.parametrize("share", [0.0, 0.01, 0.1, 0.25, 0.5, 1.0])
def test_keeps_the_share_asked_for(share):
    kept = sum(kept_by_sampling(token, share) for token in TOKENS) / len(TOKENS)
    assert abs(kept - share) < 0.01
    if share in (0.0, 1.0):
        assert kept == share  # never one captured request of an opted-out model; all at 100%


def test_shares_nest_and_answers_repeat():
    for token in TOKENS[:2000]:
        assert kept_by_sampling(token, 0.3) == kept_by_sampling(token, 0.3)
        if kept_by_sampling(token, 0.1):
            assert kept_by_sampling(token, 0.2)
