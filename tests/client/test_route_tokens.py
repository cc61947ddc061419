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
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from components.registry_route import Backend, Route, dynamodb_json, model_path, served_fields
from components.route_auth import team_scope
from mlplat.client import Client, DeadlineExceeded, NotAuthorized, timeouts, tokens
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


@pytest.mark.parametrize("load_balanced", [False, True])
def test_no_token_is_asked_for_or_sent_over_plain_http(
    registry, server, tls, emitted, load_balanced
):
    """Neither to an in-cluster service nor to a load balancer without TLS (a token sent in
    the clear could be replayed by whoever saw it)."""
    endpoint, _, _ = tls
    store_credentials(endpoint)
    route = (
        Route(
            Backend.EKS, service_url="http://127.0.0.1:9/unreachable", load_balancer_url=server.url
        )
        if load_balanced
        else http_route(server.url)
    )
    registry.serve(TEAM, MODEL, VERSION, route)
    client_with_token(emitted).predict(MODEL, b"{}")
    assert _bearer(server.requests[0]) is None
    assert endpoint.requests == []


def test_the_module_level_predict_gets_the_teams_token_from_the_environment(routed, monkeypatch):
    import mlplat.client.client as module

    endpoint, balancer = routed
    monkeypatch.setattr(module, "_default", None)
    monkeypatch.setenv("MLPLAT_REGISTRY_TABLE", TABLE)
    monkeypatch.setenv("MLPLAT_TEAM", TEAM)
    monkeypatch.setenv("MLPLAT_ROUTE_CREDENTIALS", SECRET)
    assert module.predict(MODEL, b"{}") == b'{"score": 0.5}'
    assert [_bearer(r) for r in balancer.requests] == ["Bearer tok-1"]
    assert len(endpoint.requests) == 1


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


# --- the token source on its own: what each answer of Secrets Manager and the endpoint means ----


def credentials_text(endpoint_url: str, **changes) -> str:
    fields = {
        "clientId": "growthclient",
        "clientSecret": "s3cret",
        "tokenEndpoint": endpoint_url,
        "scope": team_scope(TEAM),
    }
    return json.dumps({**fields, **changes})


class ScriptedSecrets:
    """A Secrets Manager client answering each GetSecretValue with the next outcome (the last
    repeats): a secret string, or an exception to raise."""

    def __init__(self, *outcomes, clock: FakeClock | None = None, takes: float = 0.0) -> None:
        self.outcomes, self.ids = list(outcomes), []
        self.clock, self.takes = clock, takes

    def get_secret_value(self, SecretId):  # noqa: N803 (boto3's parameter name)
        self.ids.append(SecretId)
        if self.clock is not None:
            self.clock.now += self.takes
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return {"SecretString": outcome}


def token_source(secrets: ScriptedSecrets, clock: FakeClock | None = None) -> tokens.TokenSource:
    return tokens.TokenSource(
        SECRET, tokens.BoundedClients(lambda config: secrets), clock=clock or FakeClock()
    )


@pytest.fixture
def endpoint(tmp_path, monkeypatch) -> Iterator[tuple[ScriptedServer, str]]:
    """The token endpoint alone (over verified TLS) and its URL."""
    ca, cert, key = _certificate(tmp_path, "localhost")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ScriptedServer()
    server.replies = [token_reply("tok-1")]
    thread = _serve(server, context)
    yield server, f"https://localhost:{server.httpd.server_address[1]}/oauth2/token"
    server.httpd.shutdown()
    server.httpd.server_close()
    thread.join(timeout=5)


def client_error(code: str, message: str = "said Secrets Manager") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "GetSecretValue")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("not json", "not route credentials"),
        ("[]", "not route credentials"),
        ('"a string"', "not route credentials"),
        (json.dumps({"clientId": "c", "clientSecret": "s", "scope": "x"}), "'tokenEndpoint'"),
        (credentials_text("http://auth.example/oauth2/token"), "must be https://"),
    ],
)
def test_a_secret_that_is_not_usable_route_credentials_is_not_authorized_naming_it(value, why):
    secrets = ScriptedSecrets(value)
    with pytest.raises(NotAuthorized) as refused:
        token_source(secrets).token(MODEL, 5.0)
    assert refused.value.model == MODEL
    assert str(refused.value).startswith(f"{MODEL}: {SECRET}: ")
    assert why in str(refused.value)
    assert refused.value.status is None  # not the endpoint's refusal: the secret is not re-read
    assert secrets.ids == [SECRET]


def test_https_token_endpoints_are_accepted_whatever_the_host():
    text = credentials_text("https://auth.example/oauth2/token")
    parsed = tokens.Credentials.parse(text, SECRET)
    assert parsed == tokens.Credentials(
        "growthclient", "s3cret", "https://auth.example/oauth2/token", team_scope(TEAM)
    )


@pytest.mark.parametrize(
    ("code", "throttled"), [("ThrottlingException", True), ("InternalServiceError", False)]
)
def test_secrets_manager_throttling_and_faults_are_retryable(code, throttled):
    secrets = ScriptedSecrets(client_error(code))
    with pytest.raises(tokens.Retryable) as failure:
        token_source(secrets).token(MODEL, 5.0)
    assert failure.value.throttled is throttled
    assert str(failure.value) == f"{SECRET}: {code}"


def test_a_secret_the_caller_may_not_read_is_not_authorized_with_the_services_words():
    secrets = ScriptedSecrets(client_error("AccessDeniedException", "not allowed to read it"))
    with pytest.raises(NotAuthorized) as refused:
        token_source(secrets).token(MODEL, 5.0)
    assert str(refused.value) == (
        f"{MODEL}: route credentials {SECRET}: AccessDeniedException: not allowed to read it"
    )
    assert refused.value.status is None and secrets.ids == [SECRET]  # read once: no rotation


def test_secrets_manager_out_of_reach_is_retryable_naming_the_secret():
    secrets = ScriptedSecrets(EndpointConnectionError(endpoint_url="https://secretsmanager.x"))
    with pytest.raises(tokens.Retryable) as failure:
        token_source(secrets).token(MODEL, 5.0)
    assert failure.value.throttled is False
    assert (
        str(failure.value)
        == f'{SECRET}: Could not connect to the endpoint URL: "https://secretsmanager.x"'
    )


def test_credentials_are_read_once_and_reused_for_later_tokens(endpoint):
    server, url = endpoint
    server.replies = [token_reply("tok-1", expires_in=300), token_reply("tok-2")]
    clock = FakeClock()
    secrets = ScriptedSecrets(credentials_text(url))
    source = token_source(secrets, clock)
    assert source.token(MODEL, 5.0) == "tok-1"
    clock.now += 300
    assert source.token(MODEL, 5.0) == "tok-2"
    assert secrets.ids == [SECRET] and source.requests == 2


@pytest.mark.parametrize(("left", "asks"), [(0.0, False), (-1.0, False), (0.5, True)])
def test_a_token_is_asked_for_only_while_time_is_left(endpoint, left, asks):
    server, url = endpoint
    source = token_source(ScriptedSecrets(credentials_text(url)))
    if asks:
        assert source.token(MODEL, left) == "tok-1"
    else:
        with pytest.raises(tokens.Retryable) as failure:
            source.token(MODEL, left)
        assert str(failure.value) == "no time left to request a token"
        assert failure.value.throttled is False
    assert len(server.requests) == source.requests == int(asks)


def test_a_short_lived_token_is_renewed_after_half_its_life(endpoint):
    """The margin is at most half the lifetime: a 60 s token is not renewed at every call."""
    server, url = endpoint
    server.replies = [token_reply("tok-1", expires_in=60), token_reply("tok-2")]
    clock = FakeClock()
    source = token_source(ScriptedSecrets(credentials_text(url)), clock)
    assert source.token(MODEL, 5.0) == "tok-1"
    clock.now += 29.9
    assert source.token(MODEL, 5.0) == "tok-1"
    clock.now += 0.1  # exactly half the lifetime
    assert source.token(MODEL, 5.0) == "tok-2"


def test_a_tokens_life_counts_from_when_it_was_asked_for(endpoint):
    """Reading the secret took 2 s of the call: the token is renewed a minute before the
    endpoint's expiry counted from the start, not from when the answer came."""
    server, url = endpoint
    server.replies = [token_reply("tok-1", expires_in=300), token_reply("tok-2")]
    clock = FakeClock()
    started = clock.now
    source = token_source(ScriptedSecrets(credentials_text(url), clock=clock, takes=2.0), clock)
    assert source.token(MODEL, 5.0) == "tok-1"
    clock.now = started + 300 - 60 - 0.001
    assert source.token(MODEL, 5.0) == "tok-1"
    clock.now = started + 300 - 60  # a minute before expiry, exactly: renewed
    assert source.token(MODEL, 5.0) == "tok-2"


def test_the_first_token_is_asked_for_whatever_the_clock_reads(endpoint):
    """A monotonic clock's reference point is undefined ("time.monotonic", Python docs): its
    readings may be below zero, and a source that holds no token yet must still ask for one."""
    server, url = endpoint
    source = token_source(ScriptedSecrets(credentials_text(url)), FakeClock(now=-100.0))
    assert source.token(MODEL, 5.0) == "tok-1"
    assert source.requests == len(server.requests) == 1


def test_an_invalidated_token_is_never_returned_again(endpoint):
    server, url = endpoint
    server.replies = [token_reply("tok-1"), token_reply("tok-2")]
    source = token_source(ScriptedSecrets(credentials_text(url)))
    assert source.token(MODEL, 5.0) == "tok-1"
    source.invalidate()
    assert source.token(MODEL, 5.0) == "tok-2"
    assert source.token(MODEL, 5.0) == "tok-2"


def test_an_expires_in_sent_as_a_string_is_read_as_seconds(endpoint):
    """RFC 6749 makes ``expires_in`` a number; some servers send it as a string of digits."""
    server, url = endpoint
    server.replies = [
        Reply(200, json.dumps({"access_token": "tok-1", "expires_in": "300"}).encode())
    ]
    clock = FakeClock()
    source = token_source(ScriptedSecrets(credentials_text(url)), clock)
    assert source.token(MODEL, 5.0) == "tok-1"
    clock.now += 239
    assert source.token(MODEL, 5.0) == "tok-1" and source.requests == 1


@pytest.mark.parametrize(
    ("reply", "text", "throttled"),
    [
        (Reply(429, b"slow down"), "token endpoint: HTTP 429: slow down", True),
        (Reply(500, b"oops"), "token endpoint: HTTP 500", False),
        (Reply(503, b"busy"), "token endpoint: HTTP 503", False),
        (Reply(200, b"<html>"), "token endpoint: not JSON: ", False),
        (Reply(200, b"{}"), "token endpoint: no access_token/expires_in", False),
        (Reply(200, b"[]"), "token endpoint: no access_token/expires_in", False),
        (
            Reply(200, b'{"access_token": "t", "expires_in": "soon"}'),
            "token endpoint: no access_token/expires_in",
            False,
        ),
    ],
)
def test_throttling_faults_and_unusable_answers_of_the_endpoint_are_retryable(
    endpoint, reply, text, throttled
):
    server, url = endpoint
    server.replies = [reply]
    with pytest.raises(tokens.Retryable) as failure:
        token_source(ScriptedSecrets(credentials_text(url))).token(MODEL, 5.0)
    assert str(failure.value).startswith(text)
    assert failure.value.throttled is throttled
    assert len(server.requests) == 1  # retried by the call's loop, not here


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "invalid_client"),
        (401, "invalid_client"),
        (400, "unauthorized_client"),
        (400, "invalid_scope"),
        (400, "invalid_grant"),
    ],
)
def test_each_refusal_of_the_credentials_is_named_and_read_again_once(endpoint, status, code):
    server, url = endpoint
    server.replies = [refused(code, status)]
    secrets = ScriptedSecrets(credentials_text(url))
    with pytest.raises(NotAuthorized) as error:
        token_source(secrets).token(MODEL, 5.0)
    assert str(error.value) == f"{MODEL}: the token endpoint refused the team's credentials: {code}"
    assert error.value.status == status
    assert secrets.ids == [SECRET, SECRET] and len(server.requests) == 2


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        (Reply(400, b'{"error": "invalid_request"}'), '{"error": "invalid_request"}'),
        (Reply(400, b"[]"), "[]"),  # JSON, but not an object
        (Reply(400, b"bad request"), "bad request"),
        (Reply(403, b'{"error": "invalid_client"}'), '{"error": "invalid_client"}'),
        (Reply(403, b"denied \xff"), "denied \ufffd"),
        (Reply(404, b"no such path"), "no such path"),
    ],
)
def test_other_client_errors_of_the_endpoint_are_not_authorized_with_its_answer(
    endpoint, reply, shown
):
    server, url = endpoint
    server.replies = [reply]
    secrets = ScriptedSecrets(credentials_text(url))
    with pytest.raises(NotAuthorized) as error:
        token_source(secrets).token(MODEL, 5.0)
    assert str(error.value) == f"{MODEL}: token endpoint: HTTP {reply.status}: {shown}"
    assert error.value.status == reply.status
    # Only a 400 or 401 may mean a rotated secret: read again once; any other answer is final.
    reads = 2 if reply.status in (400, 401) else 1
    assert len(secrets.ids) == reads == len(server.requests)


def test_a_token_endpoint_with_a_certificate_the_caller_cannot_verify_is_refused_at_once(
    endpoint, tmp_path, monkeypatch
):
    server, url = endpoint
    (tmp_path / "other").mkdir()
    other_ca, _, _ = _certificate(tmp_path / "other", "elsewhere")
    monkeypatch.setenv("SSL_CERT_FILE", str(other_ca))
    secrets = ScriptedSecrets(credentials_text(url))
    with pytest.raises(NotAuthorized) as error:
        token_source(secrets).token(MODEL, 5.0)
    assert str(error.value).startswith(f"{MODEL}: token endpoint: TLS: ")
    assert error.value.status is None and secrets.ids == [SECRET]
    assert server.requests == []  # no credentials went to an unverified server


def test_an_unreachable_token_endpoint_is_retryable():
    url = "https://127.0.0.1:9/oauth2/token"  # the discard port: nothing listens
    with pytest.raises(tokens.Retryable) as failure:
        token_source(ScriptedSecrets(credentials_text(url))).token(MODEL, 5.0)
    assert str(failure.value).startswith("token endpoint: <urlopen error ")
    assert failure.value.throttled is False


def test_a_call_gets_the_largest_rung_its_time_allows_and_never_more():
    for below, step in zip((0.0, *LADDER), LADDER, strict=False):
        assert timeouts.rung(step) == step  # exactly a rung's time left: that rung
        assert timeouts.rung(step - 1e-6) == (below if below else pytest.approx(step - 1e-6))
    assert timeouts.rung(1e6) == LADDER[-1]
    assert timeouts.rung(0.04) == 0.04  # below the ladder: exactly the time left
    assert timeouts.rung(0.0) == timeouts.rung(-1.0) == 0.001  # a timeout botocore accepts


def test_a_client_is_made_once_per_rung_and_afresh_below_the_ladder():
    made: list[float] = []

    def make(config):
        made.append(config.connect_timeout + config.read_timeout)
        return object()

    clients = timeouts.BoundedClients(make)
    first = clients.for_remaining(4.2)
    assert clients.for_remaining(4.9) is first  # the same rung: the same client
    assert clients.for_remaining(5.0) is not first
    below = [clients.for_remaining(0.05), clients.for_remaining(0.05)]
    assert below[0] is not below[1]  # made for its call, not kept: any number of sizes
    assert made == [3.0, 5.0, 0.05, 0.05]


# --- the client's use of its tokens, without the network ----------------------------------------


class RecordingTokens:
    """A token source handing out tok-1, tok-2, ...: what it was asked for, with how much time."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, float]] = []
        self.invalidated = 0

    def token(self, model: str, remaining: float) -> str:
        self.asked.append((model, remaining))
        return f"tok-{len(self.asked)}"

    def invalidate(self) -> None:
        self.invalidated += 1


class TickingClock(FakeClock):
    """Every reading is a quarter second after the previous one: time passes as the call runs."""

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def test_a_refreshed_token_and_each_send_get_only_what_is_left_of_the_call(
    registry, emitted, monkeypatch
):
    import mlplat.client.client as module

    registry.serve(TEAM, MODEL, VERSION, load_balanced("https://lb.example"))
    sent: list[tuple[float, str | None, str | None]] = []

    def invoke_http(url, model, payload, content_type, accept, inference_id, timeout, sign):
        request = urllib.request.Request(url, data=payload)
        sign(request)
        sent.append((timeout, request.get_header("Authorization"), request.get_header("X-signed")))
        if len(sent) == 1:
            raise NotAuthorized(model, "HTTP 401: token expired", 401)
        return b"answer"

    def signer(request) -> None:  # the caller's own signer: sees the request with its token
        request.add_header("X-Signed", request.get_header("Authorization"))

    monkeypatch.setattr(module, "invoke_http", invoke_http)
    client = client_with_token(emitted, clock=TickingClock(), sign=signer)
    client.tokens = recording = RecordingTokens()
    assert client.predict(MODEL, b"{}", deadline_seconds=10.0) == b"answer"

    assert [(bearer, signed) for _, bearer, signed in sent] == [
        ("Bearer tok-1", "Bearer tok-1"),
        ("Bearer tok-2", "Bearer tok-2"),
    ]
    assert [model for model, _ in recording.asked] == [MODEL, MODEL]
    assert recording.invalidated == 1
    # Token, send, fresh token, send: each with less time than the one before, none with more
    # than the call had.
    times = [
        recording.asked[0][1],
        sent[0][0],
        recording.asked[1][1],
        sent[1][0],
    ]
    assert 10.0 > times[0] > times[1] > times[2] > times[3] > 0, times


def test_a_given_session_makes_every_client_not_given(aws, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    session = boto3.Session(region_name="eu-west-1")
    client = Client(TABLE, team=TEAM, session=session, route_credentials=SECRET)
    assert client.routes._dynamodb.meta.region_name == "eu-west-1"
    assert client._runtime.for_remaining(1.0).meta.region_name == "eu-west-1"
    secrets = client.tokens._secrets.for_remaining(1.0)
    assert secrets.meta.service_model.service_name == "secretsmanager"
    assert secrets.meta.region_name == "eu-west-1"
