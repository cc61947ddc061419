"""botocore clients whose timeouts fit the time a call has left.

botocore waits ``read_timeout`` (60 s by default; this client used 70) for each socket read and
``connect_timeout`` for the connection, whatever the caller's deadline: a call started with half
a second left could block for a minute. A botocore client's timeouts are fixed when it is made
(``botocore.config.Config``), so calls take a client from a ladder of timeouts: the largest rung
not above the time left, split between ``connect`` and ``read`` so that connecting and waiting
for the response end before the deadline (each later socket read of the body may wait ``read``
again: a response trickling in is not bounded, one computed slowly is); a call
with less than the lowest rung left gets a client of exactly that. A timeout then surfaces as
botocore's ``ConnectTimeoutError``/``ReadTimeoutError``, which the retry loop sees before the
deadline. What the ladder costs: an attempt may give up before the deadline by up to the gap to
the next rung (a retry then has the rest). Not bounded: making a rung's client, once per rung per
process (botocore loads its service model; tens of milliseconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Seconds: fine steps where deadlines usually are (a few seconds), coarse above, up to the
# connection's time plus the socket timeout SageMaker recommends for a model using its full 60 s:
# "the SDK socket timeout should be set to be 70 seconds" (InvokeEndpoint, SageMaker API
# Reference).
LADDER = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 72.0)
CONNECT_SECONDS = 2.0  # a connection that takes longer is not coming
CONNECT_SHARE = 0.25  # of a short rung: the rest waits for the response


def rung(remaining: float) -> float:
    """The timeout a call with ``remaining`` seconds left uses: never more than it."""
    fitting = [step for step in LADDER if step <= remaining]
    return fitting[-1] if fitting else max(remaining, 0.001)


def config(timeout: float):
    """Timeouts within ``timeout``, and no retries of botocore's own (the client's loop owns
    them)."""
    from botocore.config import Config

    connect = min(CONNECT_SECONDS, timeout * CONNECT_SHARE)
    return Config(
        connect_timeout=connect,
        read_timeout=timeout - connect,
        retries={"total_max_attempts": 1},
    )


class BoundedClients:
    """``for_remaining(seconds)``: a client of ``service`` whose timeouts fit that time."""

    def __init__(self, make: Callable[[Any], Any]) -> None:
        """``make(config)`` builds the client (``session.client(service, config=config)``)."""
        self._make = make
        self._clients: dict[float, Any] = {}

    def for_remaining(self, remaining: float):
        timeout = rung(remaining)
        if timeout not in LADDER:
            return self._make(config(timeout))  # below the ladder: made for this call only
        if timeout not in self._clients:
            self._clients[timeout] = self._make(config(timeout))
        return self._clients[timeout]


def bounded(session, service: str) -> BoundedClients:
    return BoundedClients(lambda cfg: session.client(service, config=cfg))
