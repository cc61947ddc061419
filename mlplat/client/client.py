"""``Client.predict``: resolve a model from the registry, call its backend, record the call."""

from __future__ import annotations

import time
from collections.abc import Callable

from components.registry_route import Backend
from lifecycle.attribution import inference_id
from mlplat.client.backends import Signer, invoke_http, invoke_sagemaker
from mlplat.client.errors import NotAuthorized, PredictionError
from mlplat.client.metrics import CallRecord, Sink, emf_line, stdout_sink
from mlplat.client.registry import Resolved, RouteCache
from mlplat.client.retry import Attempts, RetryPolicy, call_with_retries
from mlplat.client.timeouts import BoundedClients, bounded
from mlplat.client.tokens import TokenSource

DEFAULT_TTL_SECONDS = 30.0
DEFAULT_DEADLINE_SECONDS = 10.0


class Client:
    """A caller of the platform's models.

    ``table``: the registry table (the stack output ``registryTable``); ``team``: the team whose
    models bare names mean (``"<team>/<model>"`` reaches any team's model, IAM permitting);
    ``ttl_seconds``: how long a resolved route is reused; ``deadline_seconds``: the default
    overall budget of one ``predict``, retries included: each SageMaker call's botocore
    timeouts fit the time left (``timeouts``); ``sign``: an optional signer for HTTP routes
    (``backends.sigv4_signer``); ``route_credentials``: the team's route credentials secret (the
    platform's ``routeCredentials`` output), whose token every HTTPS load-balanced route gets as
    ``Authorization: Bearer`` (``tokens``). ``clock`` (monotonic seconds), ``sleep``,
    ``wall_clock`` and ``retry`` are injectable for tests; an injected ``sagemaker_runtime`` is
    used as it is (its timeouts are the caller's).
    """

    def __init__(
        self,
        table: str,
        *,
        team: str | None = None,
        session=None,
        dynamodb=None,
        sagemaker_runtime=None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
        retry: RetryPolicy | None = None,
        metrics_sink: Sink = stdout_sink,
        sign: Signer | None = None,
        route_credentials: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if session is None and (dynamodb is None or sagemaker_runtime is None):
            session = _session()
        self.team = team
        self.routes = RouteCache(
            dynamodb or session.client("dynamodb"), table, ttl_seconds=ttl_seconds, clock=clock
        )
        self._runtime = (
            BoundedClients(lambda config: sagemaker_runtime)
            if sagemaker_runtime is not None
            else bounded(session, "sagemaker-runtime")
        )
        self.tokens = (
            TokenSource(
                route_credentials, bounded(session or _session(), "secretsmanager"), clock=clock
            )
            if route_credentials
            else None
        )
        self._deadline, self._retry = deadline_seconds, retry or RetryPolicy()
        self._sink, self._sign = metrics_sink, sign
        self._clock, self._sleep, self._wall_clock = clock, sleep, wall_clock

    def predict(
        self,
        model: str,
        payload: bytes | str,
        version: int | None = None,
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
        deadline_seconds: float | None = None,
    ) -> bytes:
        """The model's answer to ``payload``; ``version`` (optional) must be the served one."""
        started = self._clock()
        deadline = started + (deadline_seconds or self._deadline)
        team, name = self._split(model)
        body = payload.encode() if isinstance(payload, str) else payload
        resolved = self.routes.resolve(team, name, version)  # unknown names emit no metrics
        request_id = inference_id(name, resolved.version)
        attempts = Attempts()
        outcome = "ok"
        try:
            return call_with_retries(
                lambda remaining: self._invoke(
                    resolved, body, content_type, accept, request_id, remaining
                ),
                model=name,
                policy=self._retry,
                deadline=deadline,
                clock=self._clock,
                sleep=self._sleep,
                attempts=attempts,
            )
        except PredictionError as error:
            outcome = type(error).__name__
            raise
        finally:
            record = CallRecord(
                model=name,
                version=resolved.version,
                backend=resolved.route.backend.value,
                latency_ms=(self._clock() - started) * 1000,
                attempts=attempts.count,
                throttles=attempts.throttles,
                outcome=outcome,
                inference_id=request_id,
            )
            self._sink(emf_line(record, int(self._wall_clock() * 1000)))

    def _split(self, model: str) -> tuple[str, str]:
        team, _, name = model.rpartition("/")
        team = team or self.team
        if not team:
            raise ValueError(
                f"{model!r}: name the team ('<team>/<model>') or give Client(team=...)"
            )
        return team, name

    def _invoke(
        self,
        resolved: Resolved,
        body: bytes,
        content_type: str,
        accept: str,
        request_id: str,
        remaining: float,
    ) -> bytes:
        route = resolved.route
        if route.backend is Backend.SAGEMAKER_MME:
            runtime = self._runtime.for_remaining(remaining)
            return invoke_sagemaker(
                runtime, route, resolved.model, body, content_type, accept, request_id
            )
        url = route.load_balancer_url or route.service_url

        def send(timeout: float, sign: Signer | None) -> bytes:
            return invoke_http(
                url, resolved.model, body, content_type, accept, request_id, timeout, sign
            )

        if self.tokens is None or not url.startswith("https://") or not route.load_balancer_url:
            # In-cluster and plain-HTTP routes pass no token check (and a token is never sent
            # in the clear).
            return send(remaining, self._sign)
        return self._send_with_token(resolved.model, send, remaining)

    def _send_with_token(
        self, model: str, send: Callable[[float, Signer | None], bytes], remaining: float
    ) -> bytes:
        """The route with the team's token; a 401 gets one fresh token (the cached one may have
        been revoked or its keys rotated), a second 401 is the caller's answer."""
        started = self._clock()
        for fresh in (False, True):
            token = self.tokens.token(model, remaining - (self._clock() - started))

            def sign(request, token=token) -> None:
                request.add_header("Authorization", f"Bearer {token}")
                if self._sign is not None:
                    self._sign(request)

            try:
                return send(remaining - (self._clock() - started), sign)
            except NotAuthorized as refused:
                if refused.status != 401 or fresh:
                    raise
                self.tokens.invalidate()
        raise AssertionError("unreachable")


def _session():
    import boto3

    return boto3.Session()


_default: Client | None = None


def predict(model: str, payload: bytes | str, version: int | None = None, **options) -> bytes:
    """``Client.predict`` on a process-wide client configured from the environment:
    ``MLPLAT_REGISTRY_TABLE`` (required), ``MLPLAT_TEAM`` and ``MLPLAT_ROUTE_CREDENTIALS``
    (the team's route credentials secret)."""
    import os

    global _default
    if _default is None:
        table = os.environ.get("MLPLAT_REGISTRY_TABLE")
        if not table:
            raise ValueError("set MLPLAT_REGISTRY_TABLE to the stack's registryTable output")
        _default = Client(
            table,
            team=os.environ.get("MLPLAT_TEAM"),
            route_credentials=os.environ.get("MLPLAT_ROUTE_CREDENTIALS"),
        )
    return _default.predict(model, payload, version, **options)
