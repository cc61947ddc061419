"""What the client tells its caller and what it sends its backends, exactly: each error's text and
model, the content types and inference id on both backends, connection failures to SageMaker, a
signature the receiver can verify, and the module-level ``predict`` passing everything on."""

from __future__ import annotations

import json
import random

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import EndpointConnectionError
from botocore.stub import ANY, Stubber

from components.registry_route import Backend, Route, mme_route
from lifecycle.attribution import parse_inference_id
from mlplat.client import (
    BackendThrottled,
    BackendUnavailable,
    Client,
    DeadlineExceeded,
    ModelError,
    RequestRejected,
    UnknownModel,
    VersionNotServed,
)
from mlplat.client.backends import sigv4_signer
from mlplat.client.client import DEFAULT_DEADLINE_SECONDS
from mlplat.client.metrics import stdout_sink
from mlplat.client.registry import Resolved
from mlplat.client.retry import RetryPolicy
from model_packages.packaging import archive_name
from tests.client.conftest import REGION, TABLE, FakeClock, Reply, parse_emf
from tests.client.test_client import (
    MODEL,
    TEAM,
    VERSION,
    http_route,
    make_client,
    queue_sagemaker_result,
    streaming,
)

ENDPOINT = "mlplat-dev-fraud-cpu-0"


def _serve_on_sagemaker(registry) -> None:
    registry.serve(TEAM, MODEL, VERSION, mme_route(ENDPOINT, archive_name(MODEL, VERSION)))


def _sagemaker_runtime(registry):
    """The model served on a multi-model endpoint, and a runtime client to stub its answers."""
    _serve_on_sagemaker(registry)
    return boto3.client("sagemaker-runtime", region_name=REGION)


def test_an_unserved_version_says_which_was_asked_which_is_served_and_whether_it_ever_was(
    registry, server, emitted
):
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    registry.record_version(TEAM, MODEL, VERSION - 1, http_route(server.url))
    client = make_client(emitted)
    with pytest.raises(VersionNotServed) as old:
        client.predict(MODEL, b"{}", version=VERSION - 1)
    assert old.value.model == MODEL
    assert str(old.value) == (
        f"{MODEL}: version {VERSION - 1} is registered but not served; version {VERSION} is served"
    )
    with pytest.raises(VersionNotServed) as never:
        client.predict(MODEL, b"{}", version=VERSION + 5)
    assert never.value.model == MODEL
    assert str(never.value) == (
        f"{MODEL}: version {VERSION + 5} was never registered; version {VERSION} is served"
    )


def test_a_model_error_over_http_names_the_model_status_and_servers_text(registry, server, emitted):
    server.replies = [Reply(500, b"ValueError: expected 4 features")]
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    with pytest.raises(ModelError) as error:
        make_client(emitted).predict(MODEL, b"{}")
    assert error.value.model == MODEL
    expected = f"{MODEL}: the model failed (status 500): ValueError: expected 4 features"
    assert str(error.value) == expected


def test_an_error_body_that_is_not_utf8_still_reaches_the_caller(registry, server, emitted):
    server.replies = [Reply(500, b"bad byte \xff here")]
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    with pytest.raises(ModelError) as error:
        make_client(emitted).predict(MODEL, b"{}")
    assert error.value.backend_message == "bad byte \ufffd here"


@pytest.mark.parametrize(
    ("status", "expected", "text"),
    [(429, BackendThrottled, "HTTP 429: slow down"), (503, BackendUnavailable, "HTTP 503: busy")],
)
def test_retries_running_out_over_http_report_the_last_failure(
    registry, server, emitted, status, expected, text
):
    server.replies = [Reply(status, text.split(": ", 1)[1].encode())]
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    policy = RetryPolicy(max_attempts=2, rng=random.Random(1))
    with pytest.raises(expected) as error:
        make_client(emitted, retry=policy).predict(MODEL, b"{}")
    assert error.value.model == MODEL
    assert str(error.value) == f"{MODEL}: {text} (after 2 attempts)"


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, BackendThrottled),
        ("InternalDependencyException", 530, BackendUnavailable),
    ],
)
def test_retries_running_out_on_sagemaker_report_its_code_and_message(
    registry, emitted, code, status, expected
):
    runtime = _sagemaker_runtime(registry)
    with Stubber(runtime) as stub:
        for _ in range(2):
            stub.add_client_error("invoke_endpoint", code, "backend says no", status)
        client = make_client(emitted, runtime=runtime, retry=RetryPolicy(max_attempts=2))
        with pytest.raises(expected) as error:
            client.predict(MODEL, b"{}")
    assert str(error.value) == f"{MODEL}: {code}: backend says no (after 2 attempts)"


def test_a_request_sagemaker_rejects_is_not_retried_and_says_why(registry, emitted):
    runtime = _sagemaker_runtime(registry)
    with Stubber(runtime) as stub:
        stub.add_client_error(
            "invoke_endpoint", "ValidationError", f"Endpoint {ENDPOINT} not found.", 400
        )
        with pytest.raises(RequestRejected) as error:
            make_client(emitted, runtime=runtime).predict(MODEL, b"{}")
        stub.assert_no_pending_responses()
    assert error.value.model == MODEL
    assert str(error.value) == f"{MODEL}: ValidationError: Endpoint {ENDPOINT} not found."
    assert parse_emf(emitted[0])["document"]["Outcome"] == "RequestRejected"


def test_a_sagemaker_model_error_names_the_model(registry, emitted):
    runtime = _sagemaker_runtime(registry)
    with Stubber(runtime) as stub:
        stub.add_client_error(
            "invoke_endpoint",
            "ModelError",
            "Received server error (500) from model",
            424,
            modeled_fields={"OriginalMessage": "bad input", "OriginalStatusCode": 500},
        )
        with pytest.raises(ModelError) as error:
            make_client(emitted, runtime=runtime).predict(MODEL, b"{}")
    assert error.value.model == MODEL
    assert str(error.value) == f"{MODEL}: the model failed (status 500): bad input"


class _Unreachable:
    """A SageMaker runtime whose first ``failures`` calls cannot connect."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    def invoke_endpoint(self, **_):
        self.calls += 1
        if self.calls <= self.failures:
            raise EndpointConnectionError(endpoint_url="https://runtime.sagemaker.example")
        return {"Body": streaming(b"reached")}


def test_a_connection_failure_to_sagemaker_is_retried_as_a_fault_not_throttling(registry, emitted):
    _serve_on_sagemaker(registry)
    client = make_client(emitted, runtime=_Unreachable(failures=1))
    assert client.predict(MODEL, b"{}") == b"reached"
    metrics = parse_emf(emitted[0])["metrics"]
    assert (metrics["Attempts"], metrics["Throttles"], metrics["Errors"]) == (2, 0, 0)

    emitted.clear()
    runtime = _Unreachable(failures=99)
    client = make_client(emitted, runtime=runtime, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(BackendUnavailable) as error:
        client.predict(MODEL, b"{}")
    assert runtime.calls == 3
    assert str(error.value) == (
        f'{MODEL}: Could not connect to the endpoint URL: "https://runtime.sagemaker.example"'
        " (after 3 attempts)"
    )
    assert parse_emf(emitted[0])["metrics"]["Throttles"] == 0


def test_the_deadline_error_carries_the_last_failure(registry, server, emitted):
    server.replies = [Reply(503, b"busy")]
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    clock = FakeClock()
    policy = RetryPolicy(max_attempts=100, base_delay=0.5, max_delay=0.5, rng=random.Random(3))
    with pytest.raises(DeadlineExceeded) as error:
        make_client(emitted, clock=clock, retry=policy).predict(MODEL, b"{}", deadline_seconds=1.0)
    assert str(error.value).startswith(f"{MODEL}: deadline passed after ")
    assert str(error.value).endswith(" attempts: HTTP 503: busy")


def test_http_requests_carry_the_callers_content_types_and_the_inference_id(
    registry, server, emitted
):
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    make_client(emitted).predict(MODEL, "a,b\n1,2", content_type="text/csv", accept="text/plain")
    (request,) = server.requests
    assert request["body"] == b"a,b\n1,2"
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert (headers["content-type"], headers["accept"]) == ("text/csv", "text/plain")
    assert parse_inference_id(headers["x-mlplat-inference-id"]).model == MODEL


def test_sagemaker_requests_carry_the_callers_content_types(registry, emitted):
    runtime = _sagemaker_runtime(registry)
    with Stubber(runtime) as stub:
        stub.add_response(
            "invoke_endpoint",
            {"Body": streaming(b"ok")},
            {
                "EndpointName": ENDPOINT,
                "TargetModel": archive_name(MODEL, VERSION),
                "Body": b"a,b\n1,2",
                "ContentType": "text/csv",
                "Accept": "text/plain",
                "InferenceId": ANY,
            },
        )
        client = make_client(emitted, runtime=runtime)
        assert client.predict(MODEL, "a,b\n1,2", content_type="text/csv", accept="text/plain")
        stub.assert_no_pending_responses()


def _verify_sigv4(request: dict, credentials: Credentials, service: str) -> list[str]:
    """What a receiver checking SigV4 does: recompute the signature over the request as received
    (the signed headers, the body, the signing time) and compare. The signed headers' names."""
    headers = {name.lower(): value for name, value in request["headers"].items()}
    authorization = dict(
        part.strip().split("=", 1) for part in headers["authorization"].split(" ", 1)[1].split(",")
    )
    signed = authorization["SignedHeaders"].split(";")
    copy = AWSRequest(
        method="POST",
        url=f"http://{headers['host']}{request['path']}",
        data=request["body"],
        headers={name: headers[name] for name in signed},
    )
    copy.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(credentials, service, REGION)
    expected = signer.signature(signer.string_to_sign(copy, signer.canonical_request(copy)), copy)
    assert authorization["Signature"] == expected
    return signed


def test_a_signed_http_request_verifies_over_its_body_and_headers(
    registry, server, emitted, monkeypatch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    signer = sigv4_signer(boto3.Session(region_name=REGION), "execute-api", REGION)
    make_client(emitted, sign=signer).predict(MODEL, b'{"amount": 12}')
    signed = _verify_sigv4(server.requests[0], Credentials("AKIDEXAMPLE", "secret"), "execute-api")
    # The request's own headers are covered, so none can be changed on the way.
    assert {"content-type", "accept", "x-mlplat-inference-id", "host"} <= set(signed)


def test_the_module_level_predict_passes_version_payload_and_options_on(
    registry, server, monkeypatch
):
    import mlplat.client.client as module
    from mlplat.client import predict

    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    monkeypatch.setattr(module, "_default", None)
    monkeypatch.delenv("MLPLAT_REGISTRY_TABLE", raising=False)
    with pytest.raises(ValueError) as missing:
        predict(MODEL, b"{}")
    assert str(missing.value) == "set MLPLAT_REGISTRY_TABLE to the stack's registryTable output"
    monkeypatch.setenv("MLPLAT_REGISTRY_TABLE", TABLE)
    monkeypatch.setenv("MLPLAT_TEAM", TEAM)
    assert predict(MODEL, "1,2", VERSION, content_type="text/csv") == b'{"score": 0.5}'
    (request,) = server.requests
    assert request["body"] == b"1,2" and request["headers"]["Content-Type"] == "text/csv"
    with pytest.raises(VersionNotServed):
        predict(MODEL, b"{}", VERSION + 1)


def test_the_default_sink_writes_one_line_per_call(capsys):
    stdout_sink('{"a":1}')
    stdout_sink('{"b":2}')
    lines = capsys.readouterr().out.split("\n")
    assert lines == ['{"a":1}', '{"b":2}', ""]
    assert [json.loads(line) for line in lines[:2]] == [{"a": 1}, {"b": 2}]


def test_the_sagemaker_runtime_leaves_retries_to_the_client_and_outwaits_the_model(monkeypatch):
    """botocore must make one attempt per call (the client's loop counts and spaces them; its own
    retries would multiply them unseen), fail a connection within the default deadline, and,
    given the time, wait out a model that uses SageMaker's 60 s: "If your model is going to take
    50-60 seconds of processing time, the SDK socket timeout should be set to be 70 seconds"
    (InvokeEndpoint,
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html);
    never longer than the call has left (tests/client/test_route_tokens.py runs it)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    client = Client(TABLE, team=TEAM, session=boto3.Session(region_name=REGION))
    runtime = client._runtime.for_remaining(80.0)
    config = runtime.meta.config
    assert runtime.meta.service_model.service_name == "sagemaker-runtime"
    assert config.retries["total_max_attempts"] == 1
    assert 0 < config.connect_timeout < DEFAULT_DEADLINE_SECONDS
    assert config.read_timeout == 70
    for remaining in (0.05, 0.7, 4.2, DEFAULT_DEADLINE_SECONDS, 69.0):
        config = client._runtime.for_remaining(remaining).meta.config
        assert config.read_timeout > 0
        # Connecting, then waiting for the response, ends within the time left.
        assert 0 < config.connect_timeout + config.read_timeout <= remaining
        assert config.retries["total_max_attempts"] == 1


def test_latency_is_reported_in_milliseconds_to_the_microsecond(registry, server, emitted):
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    clock = FakeClock()
    ticks = iter([0.0, 0.01234567])  # started, then finished: 12.34567 ms later

    def moving() -> float:
        return clock.now + next(ticks, 0.01234567)

    client = make_client(emitted, clock=clock)
    client._clock = moving  # the call's own clock; the route cache keeps the fake one
    client.predict(MODEL, b"{}")
    assert parse_emf(emitted[0])["metrics"]["Latency"] == 12.346


def test_a_route_is_reused_for_less_than_its_ttl_and_read_again_at_it(registry, server, emitted):
    clock = FakeClock()
    client = make_client(emitted, clock=clock, ttl_seconds=30)
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    client.predict(MODEL, b"{}")
    registry.serve(TEAM, MODEL, VERSION, mme_route(ENDPOINT, archive_name(MODEL, VERSION)))
    queue_sagemaker_result("moved")
    clock.now += 29.999
    assert client.predict(MODEL, b"{}") == b'{"score": 0.5}'
    clock.now += 0.001  # exactly 30 s after it was read
    assert client.predict(MODEL, b"{}") == b"moved"


def test_an_unknown_model_says_where_it_was_looked_for(registry, emitted):
    with pytest.raises(UnknownModel) as unknown:
        make_client(emitted).predict("growth/churn", b"{}")
    assert unknown.value.model == "churn"
    assert str(unknown.value) == f"churn: no served record under 'growth/churn' in {TABLE}"


def test_a_served_record_without_a_usable_route_is_rejected_naming_the_record(registry, emitted):
    registry.serve(TEAM, MODEL, VERSION, Route(Backend.SAGEMAKER_MME, endpoint=ENDPOINT))
    with pytest.raises(RequestRejected) as rejected:
        make_client(emitted).predict(MODEL, b"{}")
    assert rejected.value.model == MODEL
    assert str(rejected.value) == (
        f"{MODEL}: registry record '{TEAM}/{MODEL}': sagemaker-mme route without target_model"
    )


def test_resolving_says_whose_model_which_version_and_how_to_reach_it(registry, server):
    route = http_route(server.url)
    registry.serve("growth", "churn", 4, route)
    routes = make_client([]).routes
    assert routes.resolve("growth", "churn", None) == Resolved("growth", "churn", 4, route)
    assert routes.resolve("growth", "churn", 4) == Resolved("growth", "churn", 4, route)


@pytest.mark.parametrize(("left", "called"), [(0.0, False), (-0.1, False), (0.5, True), (3, True)])
def test_a_call_is_made_while_any_time_is_left_and_never_at_the_deadline(left, called):
    from mlplat.client.retry import Attempts, call_with_retries

    clock = FakeClock()
    seen: list[float] = []
    attempts = Attempts()

    def call(remaining: float) -> bytes:
        seen.append(remaining)
        return b"answer"

    options = {"model": MODEL, "policy": RetryPolicy(), "clock": clock, "sleep": clock.sleep}
    if called:
        assert call_with_retries(call, deadline=clock.now + left, attempts=attempts, **options)
        assert seen == [left] and attempts.count == 1
    else:
        with pytest.raises(DeadlineExceeded) as late:
            call_with_retries(call, deadline=clock.now + left, attempts=attempts, **options)
        assert str(late.value) == f"{MODEL}: deadline passed before an answer"
        assert seen == [] and attempts.count == 0


class _Longest:
    """An rng whose full-jitter draw is always the whole range."""

    def uniform(self, low: float, high: float) -> float:
        return high


def test_no_pause_is_slept_that_would_end_at_the_deadline():
    from mlplat.client.retry import Attempts, Retryable, call_with_retries

    clock = FakeClock()

    def busy(remaining: float) -> bytes:
        raise Retryable("HTTP 503: busy", throttled=False)

    policy = RetryPolicy(base_delay=0.5, max_delay=0.5, rng=_Longest())
    with pytest.raises(DeadlineExceeded) as late:
        call_with_retries(
            busy,
            model=MODEL,
            policy=policy,
            deadline=clock.now + 0.5,
            clock=clock,
            sleep=clock.sleep,
            attempts=Attempts(),
        )
    assert clock.sleeps == []  # the pause would use up all that is left
    assert late.value.model == MODEL
    assert str(late.value) == f"{MODEL}: deadline passed after 1 attempts: HTTP 503: busy"


def test_a_session_is_made_only_for_the_clients_not_given(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    runtime = boto3.client("sagemaker-runtime", region_name=REGION)

    only_registry = Client(TABLE, team=TEAM, dynamodb=dynamodb)
    assert only_registry.routes._dynamodb is dynamodb
    made = only_registry._runtime.for_remaining(1.0)
    assert made.meta.service_model.service_name == "sagemaker-runtime"
    only_runtime = Client(TABLE, team=TEAM, sagemaker_runtime=runtime)
    assert only_runtime._runtime.for_remaining(1.0) is runtime
    assert only_runtime.routes._dynamodb.meta.service_model.service_name == "dynamodb"

    # Given both, no default session is made: one could fail (here, a profile that is missing).
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    both = Client(TABLE, team=TEAM, dynamodb=dynamodb, sagemaker_runtime=runtime)
    assert (both.routes._dynamodb, both._runtime.for_remaining(1.0)) == (dynamodb, runtime)


def test_by_default_json_is_sent_and_asked_for_and_the_metric_is_stamped_in_epoch_ms(
    registry, server, emitted
):
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    make_client(emitted).predict(MODEL, b"{}")  # wall clock: 1_700_000_000.0 s
    headers = {name.lower(): value for name, value in server.requests[0]["headers"].items()}
    assert (headers["content-type"], headers["accept"]) == ("application/json", "application/json")
    assert parse_emf(emitted[0])["document"]["_aws"]["Timestamp"] == 1_700_000_000_000


# The request's own faults (RequestRejected, not retried) against the model server's answers.
REJECTED = (400, 401, 403, 404, 405, 413, 415)


@pytest.mark.parametrize("status", [*REJECTED, 402, 406, 409, 414, 416, 422, 500, 501])
def test_an_http_error_is_the_requests_fault_or_the_models_answer_never_retried(
    registry, server, emitted, status
):
    server.replies = [Reply(status, b"said the server")]
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    kind = RequestRejected if status in REJECTED else ModelError
    with pytest.raises(kind) as error:
        make_client(emitted).predict(MODEL, b"{}")
    assert error.value.model == MODEL
    if kind is RequestRejected:
        assert str(error.value) == f"{MODEL}: HTTP {status}: said the server"
    else:
        assert (error.value.status, error.value.backend_message) == (status, "said the server")
    assert len(server.requests) == 1


def test_an_unreachable_http_route_reports_its_url_and_the_connection_failure(registry, emitted):
    url = "http://127.0.0.1:9/invocations"  # the discard port: nothing listens
    registry.serve(TEAM, MODEL, VERSION, http_route(url))
    with pytest.raises(BackendUnavailable) as error:
        make_client(emitted, retry=RetryPolicy(max_attempts=2)).predict(MODEL, b"{}")
    assert error.value.model == MODEL
    assert str(error.value).startswith(f"{MODEL}: {url}: <urlopen error ")
    assert str(error.value).endswith(" (after 2 attempts)")
