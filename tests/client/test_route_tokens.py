"""The client's tokens for load-balanced EKS routes, and its deadline against botocore's own
timeouts.

Loopback TLS servers (one certificate authority, trusted through SSL_CERT_FILE) stand in for the
Cognito token endpoint and for the team's load balancer; the credentials secret lives in moto's
Secrets Manager, written in the shape the platform writes (components/route_auth.py)."""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator

import boto3
import pytest

from components.registry_route import Backend, Route, dynamodb_json, model_path, served_fields
from components.route_auth import team_scope
from mlplat.client import Client, DeadlineExceeded, NotAuthorized, tokens
from mlplat.client.retry import RetryPolicy
from mlplat.client.timeouts import LADDER
from tests.client.conftest import REGION, TABLE, FakeClock, Reply, ScriptedServer
from tests.client.test_client import MODEL, TEAM, VERSION, http_route, make_client
from tests.client.test_https_route import _certificate

SECRET = f"mlplat/dev/{TEAM}/route-client"


def token_reply(token: str, expires_in: int = 3600) -> Reply:
    body = {"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}
    return Reply(200, json.dumps(body).encode())


def refused(error: str = "invalid_client", status: int = 400) -> Reply:
    return Reply(status, json.dumps({"error": error}).encode())


def _serve(scripted: ScriptedServer, context: ssl.SSLContext) -> threading.Thread:
    scripted.httpd.socket = context.wrap_socket(scripted.httpd.socket, server_side=True)
    thread = threading.Thread(target=scripted.httpd.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def tls(tmp_path, monkeypatch) -> Iterator[tuple[ScriptedServer, ScriptedServer, str]]:
    """(token endpoint, load balancer, the load balancer's base URL)."""
    ca, cert, key = _certificate(tmp_path, "localhost")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    endpoint, balancer = ScriptedServer(), ScriptedServer()
    endpoint.replies = [token_reply("tok-1")]
    threads = [_serve(endpoint, context), _serve(balancer, context)]
    yield endpoint, balancer, f"https://localhost:{balancer.httpd.server_address[1]}"
    for server, thread in zip((endpoint, balancer), threads, strict=True):
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(timeout=5)


def store_credentials(endpoint: ScriptedServer, client_secret: str = "s3cret") -> None:
    port = endpoint.httpd.server_address[1]
    value = json.dumps(
        {
            "clientId": "growthclient",
            "clientSecret": client_secret,
            "tokenEndpoint": f"https://localhost:{port}/oauth2/token",
            "scope": team_scope(TEAM),
        }
    )
    secrets = boto3.client("secretsmanager", region_name=REGION)
    try:
        secrets.put_secret_value(SecretId=SECRET, SecretString=value)
    except secrets.exceptions.ResourceNotFoundException:
        secrets.create_secret(Name=SECRET, SecretString=value)


def load_balanced(base: str) -> Route:
    return Route(
        Backend.EKS,
        service_url="http://127.0.0.1:9/unreachable",
        load_balancer_url=f"{base}{model_path(MODEL, VERSION)}",
    )


@pytest.fixture
def routed(registry, tls):
    endpoint, balancer, base = tls
    store_credentials(endpoint)
    registry.serve(TEAM, MODEL, VERSION, load_balanced(base))
    return endpoint, balancer


def client_with_token(emitted, clock=None, **options) -> Client:
    return make_client(emitted, clock=clock, route_credentials=SECRET, **options)


def _bearer(request: dict) -> str | None:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return headers.get("authorization")


def test_an_eks_route_gets_the_teams_token_from_its_credentials_and_reuses_it(routed, emitted):
    endpoint, balancer = routed
    client = client_with_token(emitted)
    assert client.predict(MODEL, b"{}") == b'{"score": 0.5}'
    assert client.predict(MODEL, b"{}") == b'{"score": 0.5}'

    assert [_bearer(r) for r in balancer.requests] == ["Bearer tok-1", "Bearer tok-1"]
    (grant,) = endpoint.requests  # one token for both calls
    headers = {k.lower(): v for k, v in grant["headers"].items()}
    assert grant["path"] == "/oauth2/token"
    assert base64.b64decode(headers["authorization"].removeprefix("Basic ")) == (
        b"growthclient:s3cret"
    )
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert urllib.parse.parse_qs(grant["body"].decode()) == {
        "grant_type": ["client_credentials"],
        "scope": [team_scope(TEAM)],
    }


def test_a_token_is_renewed_shortly_before_it_expires_and_not_sooner(routed, emitted):
    endpoint, balancer = routed
    endpoint.replies = [token_reply("tok-1", expires_in=300), token_reply("tok-2")]
    clock = FakeClock()
    client = client_with_token(emitted, clock=clock)
    client.predict(MODEL, b"{}")
    clock.now += 300 - 60 - 1  # a minute before expiry, less a second: still fresh
    client.predict(MODEL, b"{}")
    clock.now += 2  # inside the last minute: renewed
    client.predict(MODEL, b"{}")
    assert [_bearer(r) for r in balancer.requests] == [
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-2",
    ]
    assert len(endpoint.requests) == 2 == client.tokens.requests


def test_a_401_gets_one_fresh_token(routed, emitted):
    endpoint, balancer = routed
    endpoint.replies = [token_reply("tok-1"), token_reply("tok-2")]
    balancer.replies = [Reply(401, b"Unauthorized"), Reply()]
    assert client_with_token(emitted).predict(MODEL, b"{}") == b'{"score": 0.5}'
    assert [_bearer(r) for r in balancer.requests] == ["Bearer tok-1", "Bearer tok-2"]


def test_a_second_401_is_not_authorized_with_the_routes_answer(routed, emitted):
    endpoint, balancer = routed
    endpoint.replies = [token_reply("tok-1"), token_reply("tok-2")]
    balancer.replies = [Reply(401, b"Unauthorized")]
    with pytest.raises(NotAuthorized, match="HTTP 401") as error:
        client_with_token(emitted).predict(MODEL, b"{}")
    assert error.value.status == 401 and error.value.model == MODEL
    assert len(balancer.requests) == 2 and len(endpoint.requests) == 2
    assert json.loads(emitted[0])["Outcome"] == "NotAuthorized"


def test_a_403_is_not_authorized_at_once(routed, emitted):
    endpoint, balancer = routed
    balancer.replies = [Reply(403, b"Forbidden")]
    with pytest.raises(NotAuthorized) as error:
        client_with_token(emitted).predict(MODEL, b"{}")
    assert error.value.status == 403
    assert len(balancer.requests) == 1 and len(endpoint.requests) == 1


def test_refused_credentials_are_read_again_once_then_not_authorized(routed, emitted):
    endpoint, balancer = routed
    endpoint.replies = [refused()]
    with pytest.raises(NotAuthorized, match="refused the team's credentials: invalid_client"):
        client_with_token(emitted).predict(MODEL, b"{}")
    assert len(endpoint.requests) == 2
    assert balancer.requests == []


def test_a_rotated_secret_is_picked_up_when_the_old_one_is_refused(routed, emitted):
    endpoint, balancer = routed
    clock = FakeClock()
    client = client_with_token(emitted, clock=clock)
    endpoint.replies = [token_reply("tok-1", expires_in=300), refused(), token_reply("tok-2")]
    client.predict(MODEL, b"{}")
    store_credentials(endpoint, client_secret="rotated")
    clock.now += 300  # the token expired: a new one, with the cached (now revoked) secret first
    client.predict(MODEL, b"{}")
    secrets = [
        base64.b64decode(r["headers"]["Authorization"].removeprefix("Basic ")).split(b":")[1]
        for r in endpoint.requests
    ]
    assert secrets == [b"s3cret", b"s3cret", b"rotated"]
    assert _bearer(balancer.requests[-1]) == "Bearer tok-2"


def test_credentials_the_caller_cannot_read_are_not_authorized_naming_the_secret(
    registry, tls, emitted
):
    _, balancer, base = tls
    registry.serve(TEAM, MODEL, VERSION, load_balanced(base))
    with pytest.raises(NotAuthorized, match=f"route credentials {SECRET}: ResourceNotFound"):
        client_with_token(emitted).predict(MODEL, b"{}")
    assert balancer.requests == []


def test_token_endpoint_throttling_is_retried(routed, emitted):
    endpoint, _ = routed
    endpoint.replies = [Reply(429, b"slow down"), token_reply("tok-1")]
    assert client_with_token(emitted).predict(MODEL, b"{}") == b'{"score": 0.5}'
    assert len(endpoint.requests) == 2


def test_no_token_is_asked_for_or_sent_over_plain_http(registry, server, tls, emitted):
    endpoint, _, _ = tls
    store_credentials(endpoint)
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    client_with_token(emitted).predict(MODEL, b"{}")
    assert _bearer(server.requests[0]) is None
    assert endpoint.requests == []


# --- the deadline against botocore's and the token endpoint's waits -------------------------------


class _Registry:
    """The served record of one model, as DynamoDB returns it (no moto: botocore must reach the
    loopback server below for real)."""

    def __init__(self, route: Route) -> None:
        self.item = dynamodb_json(served_fields(TEAM, MODEL, VERSION, route))

    def get_item(self, **_) -> dict:
        return {"Item": self.item}


def _timed(call) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        call()
    except Exception as error:  # noqa: BLE001 (the test inspects what was raised)
        return error, time.monotonic() - started
    return None, time.monotonic() - started


def test_a_sagemaker_call_never_outlives_the_clients_deadline(server, emitted, monkeypatch):
    """A model that answers after 3 s, a deadline of 0.8 s: botocore's timeouts (60 s by
    default) must not hold the call past the deadline."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url.rsplit("/", 1)[0])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    server.replies = [Reply(200, b"{}", delay=3.0)]
    route = Route(Backend.SAGEMAKER_MME, endpoint="mlplat-dev-fraud-cpu-0", target_model="m.tgz")
    client = Client(
        TABLE,
        team=TEAM,
        session=boto3.Session(region_name=REGION),
        dynamodb=_Registry(route),
        metrics_sink=emitted.append,
        retry=RetryPolicy(max_attempts=10),
    )
    for rung in LADDER[:3]:  # made once per process: the first calls' cost, not this test's
        client._runtime.for_remaining(rung)
    error, elapsed = _timed(lambda: client.predict(MODEL, b"{}", deadline_seconds=0.8))
    assert isinstance(error, DeadlineExceeded), error
    assert server.requests, "the call reached the stand-in runtime"
    assert elapsed < 0.8 + 0.5


def test_a_token_request_never_outlives_the_clients_deadline(routed, emitted):
    endpoint, balancer = routed
    endpoint.replies = [Reply(200, b"{}", delay=3.0)]
    client = client_with_token(emitted, clock=None)
    client._clock = time.monotonic  # real time: the server really waits
    client.tokens._clock = time.monotonic
    client._sleep = time.sleep
    # The registry and the secret are read first (moto runs in-process, where no timeout can
    # reach it): what is timed is the token request against the deadline.
    client.routes.resolve(TEAM, MODEL, None)
    client.tokens._read(MODEL, 10.0)
    error, elapsed = _timed(lambda: client.predict(MODEL, b"{}", deadline_seconds=0.8))
    assert isinstance(error, DeadlineExceeded), error
    assert elapsed < 0.8 + 0.5
    assert balancer.requests == []


def test_the_token_request_gets_only_the_time_the_secret_read_left(monkeypatch):
    """Reading the credentials takes time from the call; the token request's timeout is what
    is left of it, not the whole."""
    clock = FakeClock()
    credentials = json.dumps(
        {
            "clientId": "c",
            "clientSecret": "s",
            "tokenEndpoint": "https://auth.example/oauth2/token",
            "scope": team_scope(TEAM),
        }
    )

    class SlowSecrets:
        def get_secret_value(self, SecretId):  # noqa: N803 (boto3's parameter name)
            clock.now += 0.5
            return {"SecretString": credentials}

    timeouts = []

    class Answer:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return json.dumps({"access_token": "t", "expires_in": 3600}).encode()

    def urlopen(request, timeout):
        timeouts.append(timeout)
        return Answer()

    monkeypatch.setattr(tokens.urllib.request, "urlopen", urlopen)
    source = tokens.TokenSource(
        SECRET, tokens.BoundedClients(lambda config: SlowSecrets()), clock=clock
    )
    assert source.token(MODEL, 2.0) == "t"
    assert timeouts == [pytest.approx(1.5)]
