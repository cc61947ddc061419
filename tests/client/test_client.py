"""mlplat.client against moto (registry, SageMaker runtime), botocore's Stubber (the runtime's
errors, which moto does not produce) and a local HTTP server standing in for an EKS route."""

from __future__ import annotations

import io
import random
import re

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemakerruntime.models import sagemakerruntime_backends

from components.registry_route import Backend, Route, eks_route, mme_route
from mlplat.client import (
    BackendThrottled,
    BackendUnavailable,
    Client,
    DeadlineExceeded,
    ModelError,
    UnknownModel,
    VersionNotServed,
)
from mlplat.client.attribution import INFERENCE_ID_MAX, inference_id
from mlplat.client.backends import sigv4_signer
from mlplat.client.metrics import NAMESPACE
from mlplat.client.retry import RetryPolicy
from model_packages.packaging import archive_name
from tests.client.conftest import REGION, TABLE, FakeClock, Reply, parse_emf

TEAM, MODEL, VERSION = "fraud", "fraud-scorer", 3
# botocore sagemaker-runtime shape InferenceId: pattern \A\S[\p{Print}]*\z, 1-64 characters.
INFERENCE_ID = re.compile(r"^(?P<model>[a-z0-9-]+)@v(?P<version>[0-9]+):(?P<token>[0-9a-f]{8,})$")


def streaming(data: bytes) -> StreamingBody:
    """What botocore returns for InvokeEndpoint's Body (the Stubber does not wrap it)."""
    return StreamingBody(io.BytesIO(data), len(data))


def http_route(url: str) -> Route:
    return Route(Backend.EKS, service_url=url)


def make_client(emitted, clock=None, runtime=None, **options) -> Client:
    clock = clock or FakeClock()
    return Client(
        TABLE,
        team=TEAM,
        dynamodb=boto3.client("dynamodb", region_name=REGION),
        sagemaker_runtime=runtime or boto3.client("sagemaker-runtime", region_name=REGION),
        metrics_sink=emitted.append,
        clock=clock,
        sleep=clock.sleep,
        wall_clock=lambda: 1_700_000_000.0,
        retry=options.pop("retry", RetryPolicy(rng=random.Random(7))),
        **options,
    )


def queue_sagemaker_result(body: str) -> None:
    backend = sagemakerruntime_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.results_queue.append((body, "application/json", "AllTraffic", ""))


def test_a_multi_model_endpoint_model_is_called_with_its_target_model(registry, emitted):
    endpoint = "mlplat-dev-fraud-cpu-0"
    registry.serve(TEAM, MODEL, VERSION, mme_route(endpoint, archive_name(MODEL, VERSION)))
    queue_sagemaker_result('{"score": 0.9}')

    assert make_client(emitted).predict(MODEL, '{"amount": 10}') == b'{"score": 0.9}'

    (line,) = emitted
    emf = parse_emf(line)
    assert emf["namespace"] == NAMESPACE
    assert emf["dimensions"] == [["Model", "Version"], ["Model"]]
    assert emf["document"]["Model"] == MODEL and emf["document"]["Version"] == str(VERSION)
    assert emf["document"]["Backend"] == "sagemaker-mme"
    assert emf["metrics"]["Errors"] == 0 and emf["metrics"]["Attempts"] == 1
    assert emf["metrics"]["Latency"] >= 0


def test_the_request_carries_target_model_and_an_attributing_inference_id(registry, emitted):
    endpoint = "mlplat-dev-fraud-cpu-0"
    registry.serve(TEAM, MODEL, VERSION, mme_route(endpoint, archive_name(MODEL, VERSION)))
    runtime = boto3.client("sagemaker-runtime", region_name=REGION)
    seen = {}

    def capture(params, **_):
        seen.update(params)

    runtime.meta.events.register("provide-client-params.sagemaker-runtime.InvokeEndpoint", capture)
    with Stubber(runtime) as stub:
        stub.add_response(
            "invoke_endpoint", {"Body": streaming(b"ok")}
        )  # no expected params: captured
        make_client(emitted, runtime=runtime).predict(MODEL, b"{}")
    assert seen["EndpointName"] == endpoint
    assert seen["TargetModel"] == f"{MODEL}-v{VERSION}.tar.gz"
    match = INFERENCE_ID.match(seen["InferenceId"])
    assert match and match["model"] == MODEL and int(match["version"]) == VERSION
    assert len(seen["InferenceId"]) <= INFERENCE_ID_MAX
    assert parse_emf(emitted[0])["document"]["InferenceId"] == seen["InferenceId"]


def test_inference_ids_fit_the_api_limit_for_the_longest_model_names():
    longest = "m" * 48  # MODEL_NAME_MAX
    value = inference_id(longest, 99999)  # five digits: the token keeps 8
    assert len(value) <= INFERENCE_ID_MAX
    assert INFERENCE_ID.match(value)["token"]  # at least 8 characters of token remain
    assert inference_id("a", 1) != inference_id("a", 1)  # one per request


def test_an_eks_route_is_called_over_http(registry, server, emitted):
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    answer = make_client(emitted).predict(MODEL, b'{"x": 1}', content_type="application/json")
    assert answer == b'{"score": 0.5}'
    (request,) = server.requests
    assert request["path"] == "/invocations" and request["body"] == b'{"x": 1}'
    assert INFERENCE_ID.match(request["headers"]["X-Mlplat-Inference-Id"])
    assert parse_emf(emitted[0])["document"]["Backend"] == "eks"


def test_the_eks_route_prefers_the_load_balancer_once_it_exists(registry, server, emitted):
    route = Route(
        Backend.EKS, service_url="http://127.0.0.1:9/unreachable", load_balancer_url=server.url
    )
    registry.serve(TEAM, MODEL, VERSION, route)
    assert make_client(emitted).predict(MODEL, b"{}") == b'{"score": 0.5}'


def test_unknown_models_and_unserved_versions_are_typed(registry, server, emitted):
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    registry.record_version(TEAM, MODEL, VERSION - 1, http_route(server.url))
    client = make_client(emitted)
    with pytest.raises(UnknownModel):
        client.predict("no-such-model", b"{}")
    with pytest.raises(UnknownModel):
        client.predict(f"growth/{MODEL}", b"{}")  # the same name under another team
    with pytest.raises(VersionNotServed) as old:
        client.predict(MODEL, b"{}", version=VERSION - 1)
    assert old.value.registered and old.value.served == VERSION
    with pytest.raises(VersionNotServed) as never:
        client.predict(MODEL, b"{}", version=VERSION + 5)
    assert not never.value.registered
    assert client.predict(f"{TEAM}/{MODEL}", b"{}", version=VERSION) == b'{"score": 0.5}'
    assert server.requests and len(server.requests) == 1  # only the served version was called


def test_routes_are_cached_until_the_ttl_passes_and_a_moved_model_keeps_working(
    registry, server, emitted
):
    """EKS first; the platform moves the model to a multi-model endpoint (its served record
    changes); the same caller code keeps working, on the new backend once the TTL passes."""
    clock = FakeClock()
    client = make_client(emitted, clock=clock, ttl_seconds=30)
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    assert client.predict(MODEL, b"{}") == b'{"score": 0.5}'

    endpoint = "mlplat-dev-fraud-cpu-0"
    registry.serve(TEAM, MODEL, VERSION, mme_route(endpoint, archive_name(MODEL, VERSION)))
    queue_sagemaker_result("from-sagemaker")
    clock.now += 29  # still cached: the old route
    assert client.predict(MODEL, b"{}") == b'{"score": 0.5}'
    assert len(server.requests) == 2

    clock.now += 2  # past the TTL: the registry is read again
    assert client.predict(MODEL, b"{}") == b"from-sagemaker"
    assert len(server.requests) == 2
    assert [parse_emf(line)["document"]["Backend"] for line in emitted] == [
        "eks",
        "eks",
        "sagemaker-mme",
    ]


def test_transient_http_failures_are_retried_with_jittered_backoff(registry, server, emitted):
    server.replies = [Reply(503, b"no ready pod"), Reply(502, b"bad gateway"), Reply()]
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    clock = FakeClock()
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0, rng=random.Random(1))
    client = make_client(emitted, clock=clock, retry=policy)
    assert client.predict(MODEL, b"{}") == b'{"score": 0.5}'
    assert len(server.requests) == 3
    assert len(clock.sleeps) == 2
    assert all(0 <= pause <= 0.1 * 2**i for i, pause in enumerate(clock.sleeps))
    assert len(set(clock.sleeps)) == 2  # jittered, not a fixed schedule
    metrics = parse_emf(emitted[0])["metrics"]
    assert metrics["Attempts"] == 3 and metrics["Errors"] == 0 and metrics["Throttles"] == 0


def test_persistent_throttling_ends_in_backend_throttled(registry, server, emitted):
    server.replies = [Reply(429, b"slow down")]
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    policy = RetryPolicy(max_attempts=3, rng=random.Random(1))
    with pytest.raises(BackendThrottled):
        make_client(emitted, retry=policy).predict(MODEL, b"{}")
    assert len(server.requests) == 3
    emf = parse_emf(emitted[0])
    assert emf["metrics"]["Throttles"] == 3 and emf["metrics"]["Errors"] == 1
    assert emf["document"]["Outcome"] == "BackendThrottled"


def test_a_model_error_is_not_retried_and_carries_the_servers_message(registry, server, emitted):
    server.replies = [Reply(500, b"ValueError: expected 4 features, got 3")]
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    with pytest.raises(ModelError) as error:
        make_client(emitted).predict(MODEL, b"{}")
    assert "expected 4 features" in error.value.backend_message and error.value.status == 500
    assert len(server.requests) == 1


def test_an_unreachable_route_is_retried_then_reported(registry, emitted):
    registry.serve(TEAM, MODEL, VERSION, http_route("http://127.0.0.1:9/invocations"))
    with pytest.raises(BackendUnavailable):
        make_client(emitted, retry=RetryPolicy(max_attempts=2)).predict(MODEL, b"{}")
    assert parse_emf(emitted[0])["metrics"]["Attempts"] == 2


def test_a_slow_backend_ends_at_the_deadline(registry, server, emitted):
    """Real time here: the server answers after 2 s, the caller allows 0.3 s in all."""
    server.replies = [Reply(delay=2.0)]
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    client = Client(
        TABLE,
        team=TEAM,
        dynamodb=boto3.client("dynamodb", region_name=REGION),
        sagemaker_runtime=boto3.client("sagemaker-runtime", region_name=REGION),
        metrics_sink=emitted.append,
        retry=RetryPolicy(max_attempts=50, base_delay=0.05),
    )
    import time

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        client.predict(MODEL, b"{}", deadline_seconds=0.3)
    assert time.monotonic() - started < 1.0
    assert parse_emf(emitted[0])["document"]["Outcome"] == "DeadlineExceeded"


def test_retries_stop_at_the_deadline_not_after_it(registry, server, emitted):
    server.replies = [Reply(503, b"busy")]
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    clock = FakeClock()
    policy = RetryPolicy(max_attempts=100, base_delay=0.5, max_delay=0.5, rng=random.Random(3))
    with pytest.raises(DeadlineExceeded):
        make_client(emitted, clock=clock, retry=policy).predict(MODEL, b"{}", deadline_seconds=2.0)
    assert clock.now - 1000.0 < 2.0  # never slept past the deadline
    assert 1 < len(server.requests) < 100


@pytest.mark.parametrize(
    ("code", "status", "expected", "attempts"),
    [
        ("ThrottlingException", 400, BackendThrottled, 3),
        ("ModelNotReadyException", 429, BackendThrottled, 3),
        ("ServiceUnavailable", 503, BackendUnavailable, 3),
        ("InternalFailure", 500, BackendUnavailable, 3),
        ("ModelError", 424, ModelError, 1),
    ],
)
def test_sagemaker_errors_map_to_typed_errors(registry, emitted, code, status, expected, attempts):
    registry.serve(TEAM, MODEL, VERSION, mme_route("ep", archive_name(MODEL, VERSION)))
    runtime = boto3.client("sagemaker-runtime", region_name=REGION)
    with Stubber(runtime) as stub:
        for _ in range(attempts):
            stub.add_client_error(
                "invoke_endpoint",
                service_error_code=code,
                service_message="backend says no",
                http_status_code=status,
                modeled_fields=(
                    {"OriginalMessage": "model: bad input", "OriginalStatusCode": 400}
                    if code == "ModelError"
                    else None
                ),
            )
        client = make_client(emitted, runtime=runtime, retry=RetryPolicy(max_attempts=3))
        with pytest.raises(expected) as error:
            client.predict(MODEL, b"{}")
        stub.assert_no_pending_responses()
    if expected is ModelError:  # the container's own message and status, not SageMaker's
        assert (error.value.backend_message, error.value.status) == ("model: bad input", 400)
    assert parse_emf(emitted[0])["metrics"]["Attempts"] == attempts


def test_sagemaker_throttling_then_success(registry, emitted):
    registry.serve(TEAM, MODEL, VERSION, mme_route("ep", archive_name(MODEL, VERSION)))
    runtime = boto3.client("sagemaker-runtime", region_name=REGION)
    with Stubber(runtime) as stub:
        stub.add_client_error("invoke_endpoint", "ThrottlingException", http_status_code=400)
        stub.add_response("invoke_endpoint", {"Body": streaming(b"fine")})
        assert make_client(emitted, runtime=runtime).predict(MODEL, b"{}") == b"fine"
    metrics = parse_emf(emitted[0])["metrics"]
    assert metrics["Attempts"] == 2 and metrics["Throttles"] == 1 and metrics["Errors"] == 0


def test_http_routes_can_be_signed_with_sigv4(registry, server, emitted, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    signer = sigv4_signer(boto3.Session(region_name=REGION), "execute-api", REGION)
    make_client(emitted, sign=signer).predict(MODEL, b"{}")
    headers = server.requests[0]["headers"]
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "X-Amz-Date" in headers


def test_the_route_records_the_platform_writes_are_what_the_client_reads():
    route = eks_route("recs-ranker", "growth")
    assert Route.from_attributes(route.attributes()) == route
    assert route.service_url == "http://recs-ranker.growth.svc.cluster.local/invocations"


def test_backoff_is_exponential_with_full_jitter():
    """Each pause is drawn from [0, min(max_delay, base * 2^(attempt-1))]: spread over the whole
    range (callers do not retry in step) and the range doubles per attempt up to the cap."""
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0, rng=random.Random(5))
    for attempt in range(1, 7):
        cap = min(1.0, 0.1 * 2 ** (attempt - 1))
        draws = [policy.delay(attempt) for _ in range(400)]
        assert all(0 <= d <= cap for d in draws)
        assert max(draws) > 0.9 * cap and min(draws) < 0.1 * cap


def test_the_module_level_predict_reads_its_table_and_team_from_the_environment(
    registry, server, monkeypatch
):
    import mlplat.client.client as module
    from mlplat.client import predict

    registry.serve(TEAM, MODEL, VERSION, http_route(server.url))
    monkeypatch.setattr(module, "_default", None)
    monkeypatch.delenv("MLPLAT_REGISTRY_TABLE", raising=False)
    with pytest.raises(ValueError, match="MLPLAT_REGISTRY_TABLE"):
        predict(MODEL, b"{}")
    monkeypatch.setenv("MLPLAT_REGISTRY_TABLE", TABLE)
    monkeypatch.setenv("MLPLAT_TEAM", TEAM)
    assert predict(MODEL, b"{}") == b'{"score": 0.5}'


def test_a_bare_name_without_a_team_is_a_clear_error(registry, emitted):
    client = make_client(emitted)
    client.team = None
    with pytest.raises(ValueError, match="name the team"):
        client.predict(MODEL, b"{}")
