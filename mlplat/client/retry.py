"""Retries of idempotent failures: exponential backoff with full jitter, inside a deadline."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from mlplat.client.errors import (
    BackendThrottled,
    BackendUnavailable,
    DeadlineExceeded,
)

T = TypeVar("T")


class Retryable(Exception):
    """A failure worth another attempt; ``throttled`` tells throttling from a transient fault."""

    def __init__(self, message: str, *, throttled: bool) -> None:
        super().__init__(message)
        self.throttled = throttled


@dataclass
class Attempts:
    count: int = 0
    throttles: int = 0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.05  # seconds before the second attempt, at most (full jitter)
    max_delay: float = 2.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Full jitter (uniform up to the exponential cap), so callers do not retry in step."""
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


def call_with_retries(
    call: Callable[[float], T],
    *,
    model: str,
    policy: RetryPolicy,
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    attempts: Attempts,
) -> T:
    """``call(remaining_seconds)`` until it succeeds, fails for good, or the deadline passes."""
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            raise DeadlineExceeded(model, "deadline passed before an answer")
        attempts.count += 1
        try:
            return call(remaining)
        except Retryable as failure:
            attempts.throttles += failure.throttled
            if attempts.count >= policy.max_attempts:
                kind = BackendThrottled if failure.throttled else BackendUnavailable
                raise kind(model, f"{failure} (after {attempts.count} attempts)") from failure
            pause = policy.delay(attempts.count)
            if clock() + pause >= deadline:
                raise DeadlineExceeded(
                    model, f"deadline passed after {attempts.count} attempts: {failure}"
                ) from failure
            sleep(pause)
