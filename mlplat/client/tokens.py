"""Access tokens for a team's load-balanced EKS routes (components/route_auth.py).

The team's caller reads its OAuth client credentials from its Secrets Manager secret (the
platform's ``routeCredentials`` output names it per team; only the team's caller role may read
it), exchanges them at the Cognito token endpoint for an access token (client credentials grant:
``POST <tokenEndpoint>`` with HTTP Basic ``client_id:client_secret`` and
``grant_type=client_credentials&scope=<scope>``; Cognito Developer Guide, "The token endpoint"),
and sends it as ``Authorization: Bearer``. A token is reused until ``margin`` seconds before it
expires, so a process asks about once per token lifetime (each request is billed).

Failures: credentials the endpoint refuses (``invalid_client``) are read again once (the secret
may have been rotated), then are ``NotAuthorized``; a secret the caller may not read is
``NotAuthorized`` too; throttling, 5xx and network faults are ``Retryable`` (the call's loop
retries within its deadline).
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from mlplat.client.errors import NotAuthorized
from mlplat.client.retry import Retryable
from mlplat.client.timeouts import BoundedClients

DEFAULT_MARGIN_SECONDS = 60.0
_REFUSED = {"invalid_client", "unauthorized_client", "invalid_scope", "invalid_grant"}


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str
    token_endpoint: str
    scope: str

    @classmethod
    def parse(cls, text: str, source: str) -> Credentials:
        try:
            fields = json.loads(text)
            credentials = cls(
                fields["clientId"], fields["clientSecret"], fields["tokenEndpoint"], fields["scope"]
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{source}: not route credentials ({error})") from None
        if not credentials.token_endpoint.startswith("https://"):
            raise ValueError(f"{source}: tokenEndpoint must be https://, not sent in the clear")
        return credentials


class TokenSource:
    """``token(model, remaining)``: a live access token of the team; ``invalidate()`` drops it
    (after the route refused it). ``secrets``: Secrets Manager clients bounded by the time left;
    ``clock``: monotonic seconds."""

    def __init__(
        self,
        secret_id: str,
        secrets: BoundedClients,
        *,
        margin_seconds: float = DEFAULT_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secret_id = secret_id
        self._secrets, self._margin, self._clock = secrets, margin_seconds, clock
        self._credentials: Credentials | None = None
        self._token: str | None = None
        self._fresh_until = 0.0
        self.requests = 0  # token requests made (each is billed by Cognito)

    def token(self, model: str, remaining: float) -> str:
        if self._token is not None and self._clock() < self._fresh_until:
            return self._token
        started = self._clock()

        def left() -> float:
            return remaining - (self._clock() - started)

        def request() -> tuple[str, float]:
            credentials = self._read(model, left())
            return self._request(model, credentials, left())  # what the read left of the time

        try:
            token, lifetime = request()
        except NotAuthorized as refused:
            if refused.status not in (400, 401):
                raise
            # Refused credentials may be a rotated secret: read it again, once.
            self._credentials = None
            token, lifetime = request()
        self._token = token
        self._fresh_until = started + lifetime - min(self._margin, lifetime / 2)
        return token

    def invalidate(self) -> None:
        self._token, self._fresh_until = None, 0.0

    def _read(self, model: str, remaining: float) -> Credentials:
        if self._credentials is None:
            client = self._secrets.for_remaining(remaining)
            try:
                value = client.get_secret_value(SecretId=self.secret_id)["SecretString"]
            except ClientError as error:
                info = error.response.get("Error", {})
                code = info.get("Code", "")
                if code in ("ThrottlingException", "InternalServiceError"):
                    raise Retryable(f"{self.secret_id}: {code}", throttled=code[0] == "T") from None
                raise NotAuthorized(
                    model, f"route credentials {self.secret_id}: {code}: {info.get('Message')}"
                ) from error
            except BotoCoreError as error:  # timeouts, connection errors
                raise Retryable(f"{self.secret_id}: {error}", throttled=False) from error
            try:
                self._credentials = Credentials.parse(value, self.secret_id)
            except ValueError as error:
                raise NotAuthorized(model, str(error)) from None
        return self._credentials

    def _request(self, model: str, credentials: Credentials, remaining: float):
        if remaining <= 0:
            raise Retryable("no time left to request a token", throttled=False)
        basic = base64.b64encode(
            f"{credentials.client_id}:{credentials.client_secret}".encode()
        ).decode()
        request = urllib.request.Request(
            credentials.token_endpoint,
            data=urllib.parse.urlencode(
                {"grant_type": "client_credentials", "scope": credentials.scope}
            ).encode(),
            method="POST",
            headers={
                "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=remaining) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = error.read().decode(errors="replace")
            if error.code == 429:
                raise Retryable(f"token endpoint: HTTP 429: {body}", throttled=True) from error
            if error.code >= 500:
                raise Retryable(f"token endpoint: HTTP {error.code}", throttled=False) from error
            code = _oauth_error(body)
            if error.code in (400, 401) and code in _REFUSED:
                raise NotAuthorized(
                    model, f"the token endpoint refused the team's credentials: {code}", error.code
                ) from error
            raise NotAuthorized(
                model, f"token endpoint: HTTP {error.code}: {body}", error.code
            ) from error
        except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
            if isinstance(getattr(error, "reason", None), ssl.SSLCertVerificationError):
                raise NotAuthorized(model, f"token endpoint: TLS: {error.reason}") from error
            raise Retryable(f"token endpoint: {error}", throttled=False) from error
        except ValueError as error:
            raise Retryable(f"token endpoint: not JSON: {error}", throttled=False) from error
        try:
            return str(answer["access_token"]), float(answer["expires_in"])
        except (KeyError, TypeError, ValueError):
            raise Retryable("token endpoint: no access_token/expires_in", throttled=False) from None


def _oauth_error(body: str) -> str:
    try:
        return str(json.loads(body).get("error", ""))
    except (ValueError, AttributeError):
        return ""
