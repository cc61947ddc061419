"""The events gateway, run for real: against a local stand-in of the model server and librdkafka's
in-process mock Kafka cluster (``test.mock.num.brokers``; its brokers listen on loopback, so a
Consumer reads back what the gateway published). No network and no AWS: Kafka "down" is a
bootstrap address nothing listens on."""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from jsonschema import Draft202012Validator

from infra.project import PROJECT_ROOT
from lifecycle.attribution import inference_id, parse_inference_id
from lifecycle.events import SCHEMA_PATH
from lifecycle.events.gateway import INFERENCE_ID_HEADER
from lifecycle.events.gateway import __main__ as gateway_main
from lifecycle.events.gateway import proxy as gateway_proxy
from lifecycle.events.gateway import publisher as gateway_publisher
from lifecycle.events.gateway.__main__ import serve
from lifecycle.events.gateway.auth import msk_iam_config, oauth_callback
from lifecycle.events.gateway.rows import Unpaired, paired_rows
from lifecycle.events.gateway.settings import SettingsError, from_environment

MODEL, VERSION, TOPIC = "churn-predictor", 3, "mlplat.test.predictions.growth"
SCHEMA = Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _ModelServer(BaseHTTPRequestHandler):
    """Scores each row as the sum of its values; answers in its own byte layout (spaces, a
    header of its own) so a proxy that re-encodes is caught."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self._reply(200, b"\n" if self.path == "/ping" else b"no", "text/plain")

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "1")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(float(self.headers.get("X-Test-Sleep", 0)))
        rows = json.loads(body)
        if "X-Test-Status" in self.headers:  # an error answer that would pair up with its rows
            self._reply(int(self.headers["X-Test-Status"]), b"[0]", "application/json")
            return
        rows = rows if isinstance(rows[0], list) else [rows]
        scores = ", ".join(f"{sum(r):.3f}" for r in rows)
        self._reply(200, f"[{scores}]".encode(), "application/json")

    def _reply(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("X-Model-Server", "stand-in")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def model_server():
    server = ThreadingHTTPServer(("127.0.0.1", _free_port()), _ModelServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def kafka():
    """The mock cluster lives as long as the producer that created it."""
    holder = Producer({"test.mock.num.brokers": 1, "log_level": 0})
    brokers = holder.list_topics(timeout=10).brokers.values()
    yield ",".join(f"{b.host}:{b.port}" for b in brokers)
    del holder


class Gateway:
    def __init__(self, upstream: int, kafka: dict, bootstrap: str, **env):
        self.port, self.metrics_port = _free_port(), _free_port()
        self.settings = from_environment(
            {
                "MLPLAT_MODEL": MODEL,
                "MLPLAT_MODEL_VERSION": str(VERSION),
                "MLPLAT_EVENTS_TOPIC": TOPIC,
                "MLPLAT_KAFKA_BOOTSTRAP": bootstrap,
                "AWS_REGION": "us-east-1",
                "MLPLAT_GATEWAY_PORT": str(self.port),
                "MLPLAT_GATEWAY_METRICS_PORT": str(self.metrics_port),
                "MLPLAT_MODEL_PORT": str(upstream),
                **env,
            }
        )
        self.stop = threading.Event()
        self.left: int | None = None
        self.thread = threading.Thread(target=self._run, args=(kafka,), daemon=True)
        self.thread.start()
        _wait_for(self.metrics_port, "/healthz")

    def _run(self, kafka):
        self.left = serve(self.settings, kafka, self.stop)

    def close(self, timeout: float = 60) -> int | None:
        self.stop.set()
        self.thread.join(timeout)
        return self.left

    def metric(self, name: str) -> float:
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics").read()
        for line in text.decode().splitlines():
            if line.startswith(f"mlplat_events_{name} "):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"no metric {name}")


def _wait_for(port: int, path: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _post(port: int, body: bytes, headers: dict | None = None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _consume(bootstrap: str, count: int, timeout: float = 20) -> list:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "test", "enable.auto.commit": False}
    )
    messages, deadline = [], time.monotonic() + timeout
    # The topic exists once the gateway's first event created it (the mock cluster's default).
    while not (partitions := consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions):
        assert time.monotonic() < deadline, f"no topic {TOPIC}"
        time.sleep(0.1)
    consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in partitions])
    while len(messages) < count and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            messages.append(message)
    consumer.close()
    return messages


def _without_volatile(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k not in ("Date", "Server", "Connection")}


def test_each_prediction_is_published_as_schema_valid_events_and_the_response_is_unchanged(
    model_server, kafka
):
    gateway = Gateway(model_server, {"bootstrap.servers": kafka}, kafka)
    ids = [inference_id(MODEL, VERSION) for _ in range(3)]
    bodies = [b"[1.5, 2.0, 3.25]", b"[[1, 2, 3], [4, 5, 6]]", b"[0.5, 0.25, 0.125]"]
    try:
        for body, request_id in zip(bodies, ids, strict=True):
            status, headers, answer = _post(gateway.port, body, {INFERENCE_ID_HEADER: request_id})
            direct = _post(model_server, body)
            assert (status, answer) == (direct[0], direct[2])  # byte for byte
            assert _without_volatile(headers) == _without_volatile(direct[1])
        messages = _consume(kafka, 4)
    finally:
        gateway.close()
    assert len(messages) == 4  # one event per predicted row: 1 + 2 + 1
    events = [json.loads(m.value()) for m in messages]
    for message, event in zip(messages, events, strict=True):
        assert not list(SCHEMA.iter_errors(event)), event
        assert message.key() == MODEL.encode()
        assert (event["model"], event["modelVersion"]) == (MODEL, VERSION)
    by_id = {}
    for event in events:
        by_id.setdefault(event["eventMetadata"]["inferenceId"], []).append(event)
    assert set(by_id) == set(ids)
    pairs = sorted(
        (
            json.loads(e["captureData"]["endpointInput"]["data"])["0"],
            json.loads(e["captureData"]["endpointInput"]["data"]),
            json.loads(e["captureData"]["endpointOutput"]["data"]),
        )
        for e in by_id[ids[1]]
    )
    assert [p[1:] for p in pairs] == [
        ({"0": 1, "1": 2, "2": 3}, 6.0),
        ({"0": 4, "1": 5, "2": 6}, 15.0),
    ]
    assert len({e["eventMetadata"]["eventId"] for e in events}) == 4


def test_a_request_without_a_valid_inference_id_gets_one_minted_and_counted(model_server, kafka):
    gateway = Gateway(model_server, {"bootstrap.servers": kafka}, kafka, MLPLAT_FEATURE_NAMES="a,b")
    try:
        assert _post(gateway.port, b"[1, 2]", {INFERENCE_ID_HEADER: "not-an-id"})[0] == 200
        (message,) = _consume(kafka, 1)
        assert gateway.metric("unattributed_total") == 1
    finally:
        gateway.close()
    event = json.loads(message.value())
    minted = parse_inference_id(event["eventMetadata"]["inferenceId"])
    assert (minted.model, minted.version) == (MODEL, VERSION)
    assert json.loads(event["captureData"]["endpointInput"]["data"]) == {"a": 1, "b": 2}


def test_errors_and_other_paths_are_forwarded_and_not_published(model_server, kafka):
    gateway = Gateway(model_server, {"bootstrap.servers": kafka}, kafka)
    try:
        for code in (400, 500, 503):
            status, _, body = _post(gateway.port, b"[9]", {"X-Test-Status": str(code)})
            assert (status, body) == (code, b"[0]")
        ping = urllib.request.urlopen(f"http://127.0.0.1:{gateway.port}/ping").read()
        assert ping == b"\n"  # readiness goes through the gateway to the model
        assert _post(gateway.port, b"[2, 2]")[0] == 200
        messages = _consume(kafka, 2, timeout=8)
    finally:
        gateway.close()
    assert len(messages) == 1  # only the successful invocation


def test_the_model_server_down_is_a_502_not_a_hang(kafka):
    gateway = Gateway(_free_port(), {"bootstrap.servers": kafka}, kafka)
    try:
        assert _post(gateway.port, b"[1]")[0] == 502
    finally:
        gateway.close()


def test_kafka_down_neither_fails_nor_slows_requests_and_drops_are_counted(model_server):
    down = f"127.0.0.1:{_free_port()}"  # nothing listens there
    gateway = Gateway(
        model_server,
        {"bootstrap.servers": down},
        down,
        MLPLAT_EVENTS_QUEUE="4",
        MLPLAT_EVENTS_FLUSH_SECONDS="1",
    )
    started = time.monotonic()
    try:
        for _ in range(40):
            status, _, body = _post(gateway.port, b"[1, 2, 3]")
            assert (status, body) == (200, b"[6.000]")
        elapsed = time.monotonic() - started
        assert gateway.metric("dropped_total") > 0
    finally:
        stopping = time.monotonic()
        left = gateway.close()
        stopped = time.monotonic() - stopping
    assert elapsed < 10  # 40 requests, none waiting on Kafka
    assert left and left > 0  # what could not be sent is counted, not waited for
    assert stopped < 5  # the flush deadline (1 s) bounds the shutdown


def test_closing_publishes_everything_accepted_before(kafka):
    from lifecycle.events.gateway.publisher import EventPublisher, Prediction

    publisher = EventPublisher(
        model=MODEL,
        version=VERSION,
        topic=TOPIC,
        kafka={"bootstrap.servers": kafka},
        queue_size=500,
    )
    now = datetime.now(UTC)
    for value in range(300):  # offered faster than the worker builds events: a backlog
        publisher.offer(Prediction(f"[{value}, 1]".encode(), b"[1]", None, now))
    assert publisher.close(30) == 0
    assert publisher.counts()["published"] == 300
    assert len(_consume(kafka, 300)) == 300


def test_a_request_in_flight_when_the_pod_stops_is_answered_and_its_event_flushed(
    model_server, kafka
):
    gateway = Gateway(model_server, {"bootstrap.servers": kafka}, kafka)
    answers = []
    slow = threading.Thread(
        target=lambda: answers.append(_post(gateway.port, b"[7, 7]", {"X-Test-Sleep": "1.5"}))
    )
    slow.start()
    time.sleep(0.5)  # the request is with the model server
    assert gateway.close() == 0
    slow.join(10)
    assert [(status, body) for status, _, body in answers] == [(200, b"[14.000]")]
    assert len(_consume(kafka, 1)) == 1


def _fake_credentials(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY123456")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_the_msk_token_is_a_presigned_connect_with_the_pods_credentials(monkeypatch):
    _fake_credentials(monkeypatch)
    token, expiry = oauth_callback("eu-west-1")(None)
    url = urlparse(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    query = parse_qs(url.query)
    assert url.hostname == "kafka.eu-west-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Credential"][0].startswith("AKIAEXAMPLEKEY123456/")
    assert query["X-Amz-Credential"][0].endswith("/eu-west-1/kafka-cluster/aws4_request")
    assert time.time() < expiry <= time.time() + 3600  # seconds since the epoch, not ms
    config = msk_iam_config("b-1.example:9098", "eu-west-1")
    assert (config["security.protocol"], config["sasl.mechanism"]) == ("SASL_SSL", "OAUTHBEARER")
    assert config["bootstrap.servers"] == "b-1.example:9098"
    token, _ = config["oauth_cb"](None)  # what librdkafka calls: signed for the same Region
    url = urlparse(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    assert url.hostname == "kafka.eu-west-1.amazonaws.com"


def test_settings_name_every_missing_or_bad_variable():
    with pytest.raises(SettingsError) as error:
        from_environment({"MLPLAT_MODEL": "Bad_Name", "MLPLAT_MODEL_VERSION": "x"})
    message = str(error.value)
    for name in ("MLPLAT_EVENTS_TOPIC", "MLPLAT_KAFKA_BOOTSTRAP", "AWS_REGION"):
        assert f"{name} is not set" in message
    assert "MLPLAT_MODEL_VERSION='x': not an integer" in message


def test_the_entry_point_exits_2_on_bad_settings_without_a_traceback():
    run = subprocess.run(
        [sys.executable, "-m", "lifecycle.events.gateway"],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert "MLPLAT_MODEL is not set" in run.stderr and "Traceback" not in run.stderr


def test_offering_never_waits_when_the_queue_is_full():
    from lifecycle.events.gateway.publisher import EventPublisher, Prediction

    down = f"127.0.0.1:{_free_port()}"
    publisher = EventPublisher(
        model=MODEL, version=VERSION, topic=TOPIC, kafka={"bootstrap.servers": down}, queue_size=4
    )
    now = datetime.now(UTC)
    started = time.monotonic()
    for _ in range(2000):
        publisher.offer(Prediction(b"[1, 2]", b"[3]", None, now))
    offered = time.monotonic() - started
    dropped = publisher.counts()["dropped"]
    left = publisher.close(0.5)
    assert dropped > 0 and offered < 1.0
    assert left > 0 and publisher.counts()["failed"] == left  # given up on, and counted once


def test_the_queue_is_bounded_in_bytes_too(monkeypatch):
    """A few large predictions must not fill the gateway's memory: at most ``queue_bytes`` of
    bodies wait, whatever their count."""
    from lifecycle.events.gateway.publisher import EventPublisher, Prediction

    release = threading.Event()
    monkeypatch.setattr(EventPublisher, "_publish", lambda self, p: release.wait(10))
    publisher = EventPublisher(
        model=MODEL,
        version=VERSION,
        topic=TOPIC,
        kafka={"bootstrap.servers": f"127.0.0.1:{_free_port()}"},
        queue_size=1000,
        queue_bytes=3 * 2**20,
    )
    now = datetime.now(UTC)
    for _ in range(10):
        publisher.offer(Prediction(b"x" * (2**20 - 1), b"y", None, now))
    dropped = publisher.counts()["dropped"]
    release.set()
    publisher.close(1)
    assert dropped in (6, 7)  # 3 MiB wait, and maybe one more the worker took off the queue


def test_a_record_larger_than_kafka_takes_is_counted_and_the_worker_carries_on(kafka):
    from lifecycle.events.gateway.publisher import EventPublisher, Prediction

    publisher = EventPublisher(
        model=MODEL, version=VERSION, topic=TOPIC, kafka={"bootstrap.servers": kafka}, queue_size=10
    )
    now = datetime.now(UTC)
    huge = ("[" + ",".join(["1.5"] * 400_000) + "]").encode()  # one row, a ~1.6 MB event
    publisher.offer(Prediction(huge, b"[1]", None, now))
    publisher.offer(Prediction(b"[1, 2]", b"[3]", None, now))
    assert publisher.close(20) == 0
    counts = publisher.counts()
    assert (counts["invalid"], counts["published"]) == (1, 1)


def test_a_model_server_too_slow_is_a_504_and_the_next_request_is_served(
    model_server, kafka, monkeypatch
):
    from lifecycle.events.gateway import proxy

    monkeypatch.setattr(proxy, "UPSTREAM_TIMEOUT_SECONDS", 0.3)
    gateway = Gateway(model_server, {"bootstrap.servers": kafka}, kafka)
    try:
        assert _post(gateway.port, b"[1]", {"X-Test-Sleep": "1"})[0] == 504
        assert _post(gateway.port, b"[1, 1]")[:3:2] == (200, b"[2.000]")
        head = urllib.request.Request(f"http://127.0.0.1:{gateway.port}/ping", method="HEAD")
        with urllib.request.urlopen(head, timeout=5) as response:  # the server's length, no body
            assert (response.headers["Content-Length"], response.read()) == ("1", b"")
    finally:
        gateway.close()


# --- In process, without Kafka: the rows, the settings, the publisher over a stand-in producer,
# the proxy over a stand-in publisher, and the entry point. Fast, and librdkafka-free, so that the
# behaviour each part promises is pinned by tests that take milliseconds (benchmarks/mutation.py
# runs the fastest covering test first). ---------------------------------------------------------


NOW = datetime(2026, 12, 1, 2, 30, 15, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("request_body", "response", "names", "pairs"),
    [
        (b"[1, 2.5]", b"[0.7]", (), [({"0": 1, "1": 2.5}, 0.7)]),
        (b"[1, 2.5]", b"0.7", ("a", "b"), [({"a": 1, "b": 2.5}, 0.7)]),  # one row, a bare value
        (b'{"a": 1, "b": 2}', b'{"label": "x"}', (), [({"a": 1, "b": 2}, {"label": "x"})]),
        (b"[[1], [2]]", b"[3, 4]", ("f",), [({"f": 1}, 3), ({"f": 2}, 4)]),
        (
            b'{"instances": [[1], [2]]}',
            b'{"predictions": [3, 4]}',
            (),
            [({"0": 1}, 3), ({"0": 2}, 4)],
        ),
        (b'{"inputs": [{"x": 1}]}', b"[[0.1, 0.9]]", (), [({"x": 1}, [0.1, 0.9])]),
        (b"[5]", b"[0.1, 0.9]", (), [({"0": 5}, [0.1, 0.9])]),  # one row, a structured output
        (b"[[5]]", b'{"predictions": [[0.1, 0.9]]}', (), [({"0": 5}, [0.1, 0.9])]),
    ],
)
def test_a_request_and_its_response_pair_up_row_by_row(request_body, response, names, pairs):
    assert paired_rows(request_body, response, names) == pairs


@pytest.mark.parametrize(
    ("request_body", "response", "names", "message"),
    [
        (b"[[1], [2]]", b"[3]", (), "2 request rows, response is not a list of as many outputs"),
        (b"[[1], [2]]", b'{"p": 1}', (), "2 request rows"),
        (b"[1, 2]", b"[3]", ("a",), "request row has 2 values; the model has 1 features"),
        (b"[]", b"[]", (), "request: not a row, a list of rows, or {'instances': rows}"),
        (b'"text"', b"[1]", (), "request: not a row"),
        (b'[1, "a"]', b"[1]", (), "request: not a row"),
        (b"[[1], 2]", b"[1, 2]", (), "request: not a row"),
        (b"[1", b"[1]", (), "not JSON: "),
        (b"[1]", b"\xff", (), "not JSON: "),
    ],
)
def test_what_does_not_pair_up_is_unpaired_saying_why(request_body, response, names, message):
    with pytest.raises(Unpaired) as error:
        paired_rows(request_body, response, names)
    assert str(error.value).startswith(message)


ENVIRONMENT = {
    "MLPLAT_MODEL": MODEL,
    "MLPLAT_MODEL_VERSION": str(VERSION),
    "MLPLAT_EVENTS_TOPIC": TOPIC,
    "MLPLAT_KAFKA_BOOTSTRAP": "b-1.example:9098",
    "AWS_REGION": "eu-west-1",
}


def test_the_settings_default_to_the_pods_ports_and_bounded_queues():
    from lifecycle.events.gateway import LISTEN_PORT, METRICS_PORT

    settings = from_environment(ENVIRONMENT)
    assert (settings.model, settings.version, settings.topic) == (MODEL, VERSION, TOPIC)
    assert (settings.bootstrap_servers, settings.region) == ("b-1.example:9098", "eu-west-1")
    assert (settings.listen_port, settings.upstream_port, settings.metrics_port) == (
        LISTEN_PORT,
        8080,
        METRICS_PORT,
    )
    assert (settings.queue_size, settings.queue_bytes) == (10_000, 64 * 2**20)
    assert settings.flush_seconds == 10.0 and settings.feature_names == ()


def test_the_settings_read_every_variable():
    settings = from_environment(
        ENVIRONMENT
        | {
            "MLPLAT_GATEWAY_PORT": "1",
            "MLPLAT_MODEL_PORT": "2",
            "MLPLAT_GATEWAY_METRICS_PORT": "3",
            "MLPLAT_EVENTS_QUEUE": "4",
            "MLPLAT_EVENTS_QUEUE_BYTES": "5",
            "MLPLAT_EVENTS_FLUSH_SECONDS": "0",  # stop without waiting: allowed
            "MLPLAT_FEATURE_NAMES": "age,,income,",
        }
    )
    assert (settings.listen_port, settings.upstream_port, settings.metrics_port) == (1, 2, 3)
    assert (settings.queue_size, settings.queue_bytes, settings.flush_seconds) == (4, 5, 0.0)
    assert settings.feature_names == ("age", "income")


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        (
            {"MLPLAT_MODEL": "  ", "AWS_REGION": ""},
            ["MLPLAT_MODEL is not set", "AWS_REGION is not set"],
        ),
        ({"MLPLAT_MODEL_VERSION": "0"}, ["MLPLAT_MODEL_VERSION='0': must be positive"]),
        ({"MLPLAT_EVENTS_QUEUE": "-1"}, ["MLPLAT_EVENTS_QUEUE='-1': must be positive"]),
        ({"MLPLAT_GATEWAY_PORT": "http"}, ["MLPLAT_GATEWAY_PORT='http': not an integer"]),
        ({"MLPLAT_MODEL_VERSION": None}, ["MLPLAT_MODEL_VERSION=None: not an integer"]),
        (
            {"MLPLAT_EVENTS_FLUSH_SECONDS": "-0.5"},
            ["MLPLAT_EVENTS_FLUSH_SECONDS='-0.5': not a non-negative number"],
        ),
        (
            {"MLPLAT_EVENTS_FLUSH_SECONDS": "soon"},
            ["MLPLAT_EVENTS_FLUSH_SECONDS='soon': not a non-negative number"],
        ),
        (
            {"MLPLAT_MODEL": "Churn_Predictor", "MLPLAT_MODEL_VERSION": "1"},
            ["MLPLAT_MODEL/MLPLAT_MODEL_VERSION: "],
        ),
        # a version that is no number is one problem, not also an unattributable name
        (
            {"MLPLAT_MODEL": "Churn_Predictor", "MLPLAT_MODEL_VERSION": "x"},
            ["MLPLAT_MODEL_VERSION='x': not an integer"],
        ),
        *(
            ({name: "0"}, [f"{name}='0': must be positive"])
            for name in (
                "MLPLAT_GATEWAY_PORT",
                "MLPLAT_MODEL_PORT",
                "MLPLAT_GATEWAY_METRICS_PORT",
                "MLPLAT_EVENTS_QUEUE",
                "MLPLAT_EVENTS_QUEUE_BYTES",
            )
        ),
    ],
)
def test_each_bad_variable_is_one_problem_naming_it(changes, problems):
    environment = {k: v for k, v in (ENVIRONMENT | changes).items() if v is not None}
    with pytest.raises(SettingsError) as error:
        from_environment(environment)
    message = str(error.value)
    assert message.startswith("events gateway: ")
    found = message.removeprefix("events gateway: ").split("; ")
    assert len(found) == len(problems)
    for problem, expected in zip(found, problems, strict=True):
        assert problem.startswith(expected)


def test_the_environment_is_read_from_the_process_when_not_given(monkeypatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    assert from_environment().model == MODEL


class _StandInProducer:
    """What the publisher asks of confluent_kafka.Producer, in process: records what it is given
    and reports each delivery (with ``error``) when polled."""

    made: list[_StandInProducer] = []

    def __init__(self, config):
        self.config, self.produced, self.waiting = config, [], []
        self.refuse: Exception | None = None
        self.error = None
        self.unsent = 0
        self.purged = False
        self.flushes = []  # the timeout of each flush
        _StandInProducer.made.append(self)

    def produce(self, topic, value, key, on_delivery):
        if self.refuse is not None:
            raise self.refuse
        self.produced.append((topic, key, value))
        self.waiting.append(on_delivery)

    def poll(self, _timeout):
        waiting, self.waiting = self.waiting, []
        for report in waiting:
            report(self.error, None)
        return len(waiting)

    def flush(self, timeout):
        self.flushes.append(timeout)
        self.poll(0)
        return self.unsent

    def purge(self):
        self.purged = True

    def __len__(self):
        return len(self.waiting) + self.unsent


@pytest.fixture
def stand_in_publisher(monkeypatch):
    monkeypatch.setattr(gateway_publisher, "Producer", _StandInProducer)
    made = []

    def make(**options):
        publisher = gateway_publisher.EventPublisher(
            model=MODEL,
            version=VERSION,
            topic=TOPIC,
            kafka={"bootstrap.servers": "stand-in:9092"},
            **{"queue_size": 100, **options},
        )
        made.append(publisher)
        return publisher, _StandInProducer.made[-1]

    yield make
    for publisher in made:
        if not publisher._stopping.is_set():  # not closed by the test
            publisher.close(0)
        # no worker outlives its test: it would call the next test's stand-in _publish
        publisher._worker.join(3)
        assert not publisher._worker.is_alive(), "the publisher's worker did not stop"


def _events(producer):
    return [json.loads(value) for _, _, value in producer.produced]


def test_in_process_each_row_is_one_schema_valid_event_keyed_by_the_model(stand_in_publisher):
    publisher, producer = stand_in_publisher(feature_names=("a", "b"))
    request_id = inference_id(MODEL, VERSION)
    publisher.offer(
        gateway_publisher.Prediction(b"[[1, 2], [3, 4]]", b"[0.5, 0.25]", request_id, NOW)
    )
    assert publisher.close(5) == 0
    assert [(topic, key) for topic, key, _ in producer.produced] == [(TOPIC, MODEL.encode())] * 2
    events = _events(producer)
    for event in events:
        assert not list(SCHEMA.iter_errors(event)), event
        assert event["eventMetadata"]["inferenceId"] == request_id
        assert event["eventMetadata"]["inferenceTime"] == "2026-12-01T02:30:15.123Z"
        assert (event["model"], event["modelVersion"]) == (MODEL, VERSION)
    assert [json.loads(e["captureData"]["endpointInput"]["data"]) for e in events] == [
        {"a": 1, "b": 2},
        {"a": 3, "b": 4},
    ]
    assert [json.loads(e["captureData"]["endpointOutput"]["data"]) for e in events] == [0.5, 0.25]
    assert publisher.counts() == {
        "published": 2,
        "dropped": 0,
        "failed": 0,
        "unattributed": 0,
        "unpaired": 0,
        "invalid": 0,
    }


@pytest.mark.parametrize("header", [None, "", "not-an-id", f"{MODEL}@v{VERSION}:"])
def test_in_process_a_missing_or_malformed_id_is_minted_and_counted(stand_in_publisher, header):
    publisher, producer = stand_in_publisher()
    publisher.offer(gateway_publisher.Prediction(b"[1]", b"[2]", header, NOW))
    publisher.close(5)
    (event,) = _events(producer)
    minted = parse_inference_id(event["eventMetadata"]["inferenceId"])
    assert (minted.model, minted.version) == (MODEL, VERSION)
    assert publisher.counts()["unattributed"] == 1


def test_in_process_what_cannot_be_published_is_counted_by_why_and_the_worker_carries_on(
    stand_in_publisher, caplog
):
    import logging

    caplog.set_level(logging.DEBUG, logger=gateway_publisher.log.name)
    publisher, producer = stand_in_publisher()
    for request, response in [
        (b"[[1], [2]]", b"[1]"),  # unpaired
        (b"{}", b"[1]"),  # an event without features: invalid
        (b"[7]", b"[8]"),
    ]:
        publisher.offer(gateway_publisher.Prediction(request, response, None, NOW))
    publisher.close(5)
    counts = publisher.counts()
    assert (counts["unpaired"], counts["invalid"], counts["published"]) == (1, 1, 1)
    assert len(producer.produced) == 1
    said = [r.getMessage() for r in caplog.records if r.name == gateway_publisher.log.name]
    assert "not published: 2 request rows, response is not a list of as many outputs" in said
    assert (
        "invalid event: captureData.endpointInput.data: must be a JSON object of features" in said
    )


def test_in_process_an_invalid_row_does_not_stop_the_rows_after_it(stand_in_publisher):
    publisher, producer = stand_in_publisher()
    publisher.offer(gateway_publisher.Prediction(b'[{}, {"a": 1}]', b"[1, 2]", None, NOW))
    publisher.close(5)
    assert (publisher.counts()["invalid"], publisher.counts()["published"]) == (1, 1)
    (event,) = _events(producer)
    assert json.loads(event["captureData"]["endpointInput"]["data"]) == {"a": 1}


def test_in_process_an_unexpected_failure_is_logged_counted_and_outlived(
    stand_in_publisher, monkeypatch, caplog
):
    real = gateway_publisher.paired_rows

    def paired(request, response, names):
        if request == b"boom":
            raise RuntimeError("boom")
        return real(request, response, names)

    monkeypatch.setattr(gateway_publisher, "paired_rows", paired)
    publisher, _ = stand_in_publisher()
    publisher.offer(gateway_publisher.Prediction(b"boom", b"[1]", None, NOW))
    publisher.offer(gateway_publisher.Prediction(b"[1]", b"[1]", None, NOW))
    publisher.close(5)
    assert (publisher.counts()["invalid"], publisher.counts()["published"]) == (1, 1)
    (record,) = [r for r in caplog.records if r.getMessage() == "event not published"]
    assert record.levelname == "ERROR" and record.exc_info[0] is RuntimeError


@pytest.mark.parametrize(
    ("refusal", "counted"),
    [(BufferError("full"), "dropped"), (gateway_publisher.KafkaException("too large"), "invalid")],
)
def test_in_process_a_record_the_producer_refuses_is_counted(
    stand_in_publisher, refusal, counted, caplog
):
    import logging

    caplog.set_level(logging.DEBUG, logger=gateway_publisher.log.name)
    publisher, producer = stand_in_publisher()
    producer.refuse = refusal
    publisher.offer(gateway_publisher.Prediction(b"[[1], [2]]", b"[1, 2]", None, NOW))
    publisher.close(5)
    assert publisher.counts()[counted] == 2 and publisher.counts()["published"] == 0
    said = [r.getMessage() for r in caplog.records if r.name == gateway_publisher.log.name]
    if counted == "invalid":  # a refusal is worth a line; a full buffer only a count
        assert said.count("refused by the producer: too large") == 2


def test_in_process_a_delivery_kafka_reports_failed_is_counted_failed(stand_in_publisher):
    publisher, producer = stand_in_publisher()
    producer.error = "broker down"
    publisher.offer(gateway_publisher.Prediction(b"[1]", b"[1]", None, NOW))
    publisher.close(5)
    assert (publisher.counts()["failed"], publisher.counts()["published"]) == (1, 0)


def test_in_process_the_queue_drops_past_its_count(stand_in_publisher, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(gateway_publisher.EventPublisher, "_publish", lambda s, p: release.wait(10))
    publisher, _ = stand_in_publisher(queue_size=2)
    for _ in range(6):
        publisher.offer(gateway_publisher.Prediction(b"[1]", b"[1]", None, NOW))
    dropped = publisher.counts()["dropped"]
    release.set()
    assert dropped in (3, 4)  # 2 wait, and maybe one more the worker took off the queue


def test_in_process_the_byte_bound_is_inclusive_and_freed_as_the_worker_takes(
    stand_in_publisher, monkeypatch
):
    release = threading.Event()
    taken = threading.Event()

    def publish(self, prediction):
        taken.set()
        release.wait(10)

    monkeypatch.setattr(gateway_publisher.EventPublisher, "_publish", publish)
    publisher, _ = stand_in_publisher(queue_bytes=20)
    publisher.offer(gateway_publisher.Prediction(b"x" * 9, b"y", None, NOW))  # 10 bytes
    assert taken.wait(5)  # the worker holds it: its bytes are free again
    for _ in range(2):  # 10 + 10 bytes: exactly the bound
        publisher.offer(gateway_publisher.Prediction(b"x" * 9, b"y", None, NOW))
    at_the_bound = publisher.counts()["dropped"]
    publisher.offer(gateway_publisher.Prediction(b"", b"y", None, NOW))  # one byte over
    counts = publisher.counts()
    release.set()
    assert (at_the_bound, counts["dropped"]) == (0, 1)


def test_in_process_a_prediction_dropped_for_count_gives_its_bytes_back_exactly(
    stand_in_publisher, monkeypatch
):
    go, taken = threading.Semaphore(0), []

    def publish(self, prediction):
        taken.append(prediction)
        go.acquire(timeout=10)

    monkeypatch.setattr(gateway_publisher.EventPublisher, "_publish", publish)
    publisher, _ = stand_in_publisher(queue_size=2, queue_bytes=20)

    def offer(size):
        publisher.offer(gateway_publisher.Prediction(b"x" * (size - 1), b"y", None, NOW))

    def until_taken(count):
        deadline = time.monotonic() + 5
        while len(taken) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(taken) == count

    offer(10)
    until_taken(1)  # held by the worker: its bytes no longer count
    offer(4)
    offer(4)  # the queue is full by count: 8 bytes wait
    offer(1)  # dropped for count; its byte is given back
    go.release()
    until_taken(2)  # the first 4 leave the queue: 4 bytes wait
    offer(17)  # 4 + 17 > 20: dropped for bytes
    dropped = [publisher.counts()["dropped"]]
    offer(16)  # 4 + 16 = 20: room, exactly
    dropped.append(publisher.counts()["dropped"])
    for _ in range(4):
        go.release()
    assert dropped == [2, 2]


def test_in_process_the_producer_and_worker_are_the_publishers_own(stand_in_publisher):
    publisher, producer = stand_in_publisher(queue_bytes=8192)
    assert producer.config == gateway_publisher.producer_config(
        {"bootstrap.servers": "stand-in:9092"}, MODEL, 100, 8192
    )
    # the worker is named in a thread dump, and daemon: it never keeps a stopping pod alive
    workers = [t for t in threading.enumerate() if t.name == "events-publisher"]
    assert workers and all(t.daemon for t in workers)


def test_in_process_closing_gives_up_on_what_it_cannot_send_and_counts_it(
    stand_in_publisher, monkeypatch, caplog
):
    release = threading.Event()
    monkeypatch.setattr(gateway_publisher.EventPublisher, "_publish", lambda s, p: release.wait(10))
    publisher, producer = stand_in_publisher()
    producer.unsent = 2  # in librdkafka's buffer, not acknowledged by the deadline
    for _ in range(3):  # one taken by the worker (stuck), two left queued
        publisher.offer(gateway_publisher.Prediction(b"[1]", b"[1]", None, NOW))
    time.sleep(0.3)
    assert publisher.pending() == 2 + 2
    started = time.monotonic()
    left = _bounded(publisher.close, 0.2)
    took = time.monotonic() - started
    release.set()
    assert took < 0.8  # the deadline given, not the stuck worker's time
    # flushed for what was left of the deadline, then the purged reports served without waiting
    assert 0 <= producer.flushes[0] <= 0.2 and producer.flushes[1:] == [0]
    assert left == 2 + 2 and producer.purged
    warned = [r for r in caplog.records if r.name == gateway_publisher.log.name]
    assert [(r.levelname, r.getMessage()) for r in warned] == [
        ("WARNING", "events gateway stopped with 4 events unsent")
    ]
    assert publisher.counts()["failed"] == 2  # the queued; the producer's report its own


def test_in_process_a_clean_close_releases_the_producer(stand_in_publisher, caplog):
    publisher, producer = stand_in_publisher()
    publisher.offer(gateway_publisher.Prediction(b"[1]", b"[1]", None, NOW))
    assert publisher.close(5) == 0 and not producer.purged
    (flushed,) = producer.flushes
    assert 4 < flushed <= 5  # what the worker's drain left of the deadline
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert publisher.pending() == 0 and publisher._producer is None


def test_the_metrics_are_prometheus_counters_and_the_backlog(stand_in_publisher):
    publisher, producer = stand_in_publisher()
    publisher.offer(gateway_publisher.Prediction(b"[1]", b"[2]", None, NOW))
    deadline = time.monotonic() + 5
    while publisher.counts()["published"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    producer.unsent = 3
    lines = publisher.metrics_text().splitlines()
    for name, help_text in gateway_publisher.COUNTERS.items():
        metric = f"mlplat_events_{name}_total"
        value = {"published": 1, "unattributed": 1}.get(name, 0)
        assert lines[:3] == [
            f"# HELP {metric} {help_text}",
            f"# TYPE {metric} counter",
            f"{metric} {value}",
        ]
        lines = lines[3:]
    assert lines == [
        "# HELP mlplat_events_pending events queued or in the producer, not yet acknowledged",
        "# TYPE mlplat_events_pending gauge",
        "mlplat_events_pending 3",
    ]
    assert publisher.metrics_text().endswith("mlplat_events_pending 3\n")


@pytest.mark.parametrize(
    ("queue_bytes", "kbytes"), [(512, 1), (1536, 1), (4096, 4), (64 * 2**20, 65536)]
)
def test_the_producer_is_idempotent_acknowledged_by_all_and_bounded(queue_bytes, kbytes):
    config = gateway_publisher.producer_config(
        {"bootstrap.servers": "b:9098"}, MODEL, 7, queue_bytes
    )
    assert config == {
        "bootstrap.servers": "b:9098",
        "client.id": f"mlplat-events-{MODEL}",
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 50,
        "compression.type": "lz4",
        "queue.buffering.max.messages": 7,
        "queue.buffering.max.kbytes": kbytes,
        "message.timeout.ms": 30_000,
    }
    assert type(config["queue.buffering.max.kbytes"]) is int  # librdkafka's is an integer


class _Echo(BaseHTTPRequestHandler):
    """A model server that answers what it received (method, path, headers, body) as JSON, with
    the status ``X-Test-Status`` asks for and hop-by-hop headers of its own."""

    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        time.sleep(float(self.headers.get("X-Test-Sleep", 0)))
        received = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode(),
        }
        payload = json.dumps(received).encode()
        status = int(self.headers.get("X-Test-Status", 200))
        self.send_response(status, self.headers.get("X-Test-Reason"))
        self.send_header("X-Model-Server", "echo")
        for name, value in (("Keep-Alive", "timeout=5"), ("Upgrade", "h2c"), ("Trailer", "X")):
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        # closes without saying so: the gateway's kept-alive connection is then stale
        self.close_connection = "X-Test-Close" in self.headers

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _answer

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "42")
        self.end_headers()

    def log_message(self, *args):
        pass


class _Offers:
    """The publisher as the proxy sees it: what it is offered."""

    def __init__(self):
        self.offered = []

    def offer(self, prediction):
        self.offered.append(prediction)

    def metrics_text(self):
        return "mlplat_events_published_total 7\n"


def _serving(server):
    # polled often, so that stopping it takes milliseconds, not the default half second
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return server


@pytest.fixture
def echo_server():
    server = _serving(ThreadingHTTPServer(("127.0.0.1", 0), _Echo))
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxied(echo_server):
    """(gateway port, the offers, the gateway server) in front of the echo server."""
    offers = _Offers()
    server = _serving(gateway_proxy.GatewayServer(0, echo_server, offers, host="127.0.0.1"))
    yield server.server_address[1], offers, server
    server.shutdown()
    server.server_close()


def _exchange(port, method, path, body=None, headers=None, connection=None):
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.getheaders(), response.read()


def _settled(port, connection):
    """The answer is written before the prediction is offered: a next request on the same
    connection is read by the same handler once it has offered (or not) the one before."""
    assert _exchange(port, "GET", "/settle", connection=connection)[0] == 200


HOP_BY_HOP_SENT = {
    "Keep-Alive": "timeout=5",
    "Proxy-Authorization": "Basic eA==",
    "Proxy-Connection": "keep-alive",
    "TE": "trailers",
    "Upgrade": "h2c",
    "Trailer": "X-Sum",
}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_in_process_a_request_is_forwarded_as_is_but_its_hop_by_hop_headers(proxied, method):
    port, offers, _ = proxied
    body = b'{"x": 1}'
    headers = {"X-Caller": "test", "Content-Type": "application/json", **HOP_BY_HOP_SENT}
    status, response_headers, payload = _exchange(port, method, "/a/b?q=1", body, headers)
    received = json.loads(payload)
    assert status == 200
    assert (received["method"], received["path"], received["body"]) == (
        method,
        "/a/b?q=1",
        '{"x": 1}',
    )
    assert received["headers"]["x-caller"] == "test"
    assert received["headers"]["content-length"] == str(len(body))
    assert not {name.lower() for name in HOP_BY_HOP_SENT} & set(received["headers"])
    names = {name.lower(): value for name, value in response_headers}
    assert names["x-model-server"] == "echo"
    assert names["content-length"] == str(len(payload))
    assert not {"keep-alive", "upgrade", "trailer"} & set(names)
    assert offers.offered == []  # not a POST /invocations


def test_in_process_expect_100_continue_is_answered_by_the_gateway_not_forwarded(proxied):
    port, _, _ = proxied
    status, _, payload = _exchange(port, "POST", "/x", b"[1]", {"Expect": "100-continue"})
    assert status == 200 and "expect" not in json.loads(payload)["headers"]


def test_in_process_head_answers_the_servers_length_without_a_body(proxied):
    port, _, _ = proxied
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("HEAD", "/ping")
    response = connection.getresponse()
    assert (response.status, response.getheader("Content-Length"), response.read()) == (
        200,
        "42",
        b"",
    )
    # the connection is still in step: a next request on it is answered
    assert _exchange(port, "GET", "/next", connection=connection)[0] == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "offered"),
    [
        ("POST", "/invocations", 200, True),
        ("POST", "/invocations?format=json", 201, True),
        ("POST", "/invocations", 299, True),
        ("POST", "/invocations", 300, False),
        ("POST", "/invocations", 400, False),
        ("POST", "/invocations", 500, False),
        ("PUT", "/invocations", 200, False),
        ("POST", "/invocations/x", 200, False),
        ("POST", "/ping", 200, False),
    ],
)
def test_in_process_only_a_successful_post_of_invocations_is_offered(
    proxied, method, path, status, offered
):
    port, offers, _ = proxied
    before = datetime.now(UTC)
    headers = {"X-Test-Status": str(status), INFERENCE_ID_HEADER: "the-callers-id"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    answered, _, payload = _exchange(port, method, path, b"[1, 2]", headers, connection)
    _settled(port, connection)
    assert answered == status
    if not offered:
        assert offers.offered == []
        return
    (prediction,) = offers.offered
    assert (prediction.request, prediction.response) == (b"[1, 2]", payload)
    assert prediction.inference_id == "the-callers-id"
    assert before <= prediction.time <= datetime.now(UTC)


def test_in_process_a_prediction_without_an_id_header_is_offered_without_one(proxied):
    port, offers, _ = proxied
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    assert _exchange(port, "POST", "/invocations", b"[1]", connection=connection)[0] == 200
    _settled(port, connection)
    assert offers.offered[0].inference_id is None


@pytest.mark.parametrize("size", [20, 21])
def test_in_process_a_body_above_the_limit_is_refused_413_not_forwarded(proxied, monkeypatch, size):
    monkeypatch.setattr(gateway_proxy, "MAX_BODY_BYTES", 20)
    port, offers, _ = proxied
    status, _, payload = _exchange(port, "POST", "/invocations", b"1" * size)
    if size == 20:
        assert status == 200 and json.loads(payload)["body"] == "1" * 20
    else:
        assert status == 413 and offers.offered == []


def _chunked(port, chunks, trailer=b""):
    """POST /invocations with a chunked body (sizes in hex, one with an extension)."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as raw:
        body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n" + trailer
        raw.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n" + body + b"\r\n"
        )
        answer = b""
        while part := raw.recv(65536):
            answer += part
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


def test_in_process_a_chunked_body_is_forwarded_whole_with_its_length(proxied, monkeypatch):
    monkeypatch.setattr(gateway_proxy, "MAX_BODY_BYTES", 20)
    port, offers, _ = proxied
    # sizes in hex: 0x10 is 16 bytes
    status, payload = _chunked(port, [b"0123456789abcdef", b"ghij"], trailer=b"X-Sum: 1\r\n")
    received = json.loads(payload)
    assert status == 200 and received["body"] == "0123456789abcdefghij"
    assert received["headers"]["content-length"] == "20"
    assert "transfer-encoding" not in received["headers"]
    assert offers.offered[0].request == b"0123456789abcdefghij"
    assert _chunked(port, [b"0123456789abcdef", b"ghij", b"!"])[0] == 413


def test_in_process_a_chunked_body_cut_short_is_answered_not_dropped(proxied):
    """The client stops where a chunk size should be: what arrived is the body; the gateway
    answers rather than failing in the middle of the exchange."""
    port, _, _ = proxied
    with socket.create_connection(("127.0.0.1", port), timeout=3) as raw:
        raw.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n3\r\n[1]\r\n"
        )
        raw.shutdown(socket.SHUT_WR)
        answer = b""
        while part := raw.recv(65536):
            answer += part
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and json.loads(payload)["body"] == "[1]"


def test_in_process_an_unreachable_model_server_is_a_502(caplog):
    offers = _Offers()
    server = _serving(gateway_proxy.GatewayServer(0, _free_port(), offers, host="127.0.0.1"))
    try:
        status, _, body = _exchange(server.server_address[1], "POST", "/invocations", b"[1]")
    finally:
        server.shutdown()
        server.server_close()
    assert status == 502 and offers.offered == []
    assert b"Message: model server unreachable." in body  # the caller is told which side failed
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert warning.getMessage().startswith("model server unreachable: [Errno 111]")


def test_in_process_a_slow_model_server_is_a_504_and_the_next_request_gets_a_fresh_connection(
    proxied, monkeypatch
):
    monkeypatch.setattr(gateway_proxy, "UPSTREAM_TIMEOUT_SECONDS", 0.3)
    port, offers, _ = proxied
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    slow = _exchange(port, "POST", "/invocations", b"[1]", {"X-Test-Sleep": "1"}, connection)
    assert slow[0] == 504 and offers.offered == []
    assert b"Message: the model server did not answer in time." in slow[2]
    time.sleep(1)  # the stale answer arrives on the old connection, which must not be read
    status, _, payload = _exchange(port, "POST", "/invocations", b"[2]", connection=connection)
    assert status == 200 and json.loads(payload)["body"] == "[2]"


def test_in_process_a_kept_alive_connection_the_model_server_closed_is_retried_once(proxied):
    port, _, _ = proxied
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for body in (b"[1]", b"[2]", b"[3]"):  # the server closes after each answer
        status, _, payload = _exchange(
            port, "POST", "/invocations", body, {"X-Test-Close": "1"}, connection
        )
        assert status == 200 and json.loads(payload)["body"] == body.decode()


def test_in_process_a_stopping_gateway_closes_each_connection_after_its_answer(proxied):
    port, _, server = proxied
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    _, headers, _ = _exchange(port, "GET", "/a", connection=connection)
    assert "close" not in dict(headers).get("Connection", "")
    server.stopping = True
    _, headers, _ = _exchange(port, "GET", "/b", connection=connection)
    assert dict(headers)["Connection"] == "close"
    # ... and does close it: of two requests sent together, only the first is answered
    with socket.create_connection(("127.0.0.1", port), timeout=3) as raw:
        raw.sendall(b"GET /c HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
        received = b""
        while chunk := raw.recv(65536):  # to the end: the gateway closed the connection
            received += chunk
    assert received.count(b"HTTP/1.1 ") == 1


@pytest.mark.parametrize(("status", "length"), [(204, None), (304, "upstream"), (200, "body")])
def test_in_process_content_length_is_sent_only_where_http_allows_it(proxied, status, length):
    """RFC 9110 §8.6: none on a 204; a 304 carries the model server's own; others the body's."""
    port, _, _ = proxied
    _, headers, payload = _exchange(port, "GET", "/a", headers={"X-Test-Status": str(status)})
    sent = dict(headers).get("Content-Length")
    if length is None:
        assert sent is None and payload == b""
    elif length == "upstream":
        # the echo server states its JSON's length; a 304 has no body to count
        assert sent is not None and int(sent) > 0 and payload == b""
    else:
        assert sent == str(len(payload)) and len(payload) > 0


def _bounded(call, *args):
    """``call(*args)``, failing (not hanging) if it does not return within 5 s."""
    answers = []
    thread = threading.Thread(target=lambda: answers.append(call(*args)), daemon=True)
    thread.start()
    thread.join(5)
    assert answers, f"{call.__name__}{args} did not return"
    return answers[0]


def test_in_process_a_stop_waits_for_the_requests_in_flight_only():
    server = gateway_proxy.GatewayServer(0, 1, _Offers(), host="127.0.0.1")
    try:
        assert _bounded(server.wait_idle, 0)
        with server.request_in_flight():
            with server.request_in_flight():
                pass
            assert not _bounded(server.wait_idle, 0.05)  # waits no longer than it is told
        assert _bounded(server.wait_idle, 0.05)
        # a request ending while a stop waits wakes it at once
        entered, leave = threading.Event(), threading.Event()

        def in_flight():
            with server.request_in_flight():
                entered.set()
                leave.wait(5)

        threading.Thread(target=in_flight, daemon=True).start()
        entered.wait(5)
        threading.Timer(0.2, leave.set).start()
        started = time.monotonic()
        assert _bounded(server.wait_idle, 3)
        assert time.monotonic() - started < 2
    finally:
        server.server_close()


def test_in_process_the_metrics_server_serves_the_counters_and_liveness_only():
    server = _serving(gateway_proxy.MetricsServer(0, _Offers(), host="127.0.0.1"))
    port = server.server_address[1]
    try:
        metrics = _exchange(port, "GET", "/metrics")
        health = _exchange(port, "GET", "/healthz")
        other = _exchange(port, "GET", "/invocations")
    finally:
        server.shutdown()
        server.server_close()
    assert (metrics[0], metrics[2]) == (200, b"mlplat_events_published_total 7\n")
    assert dict(metrics[1])["Content-Type"] == "text/plain; version=0.0.4"
    assert dict(metrics[1])["Content-Length"] == str(len(metrics[2]))
    assert (health[0], health[2], dict(health[1])["Content-Type"]) == (200, b"ok\n", "text/plain")
    assert other[0] == 404


def test_the_entry_point_exits_2_naming_the_variables_in_process(monkeypatch, capsys):
    for name in (*ENVIRONMENT, "MLPLAT_MODEL_VERSION"):
        monkeypatch.delenv(name, raising=False)
    assert gateway_main.main() == 2
    error = capsys.readouterr().err
    assert error.startswith("events gateway: MLPLAT_MODEL is not set")


def test_the_entry_point_serves_msk_with_iam_until_sigterm_or_sigint(monkeypatch):
    import signal

    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    served = []

    def serve_stand_in(settings, kafka, stop):
        for signum in (signal.SIGTERM, signal.SIGINT):
            stop.clear()
            signal.getsignal(signum)(signum, None)
            served.append((settings, kafka, signum, stop.is_set()))
        return 0

    monkeypatch.setattr(gateway_main, "serve", serve_stand_in)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        assert gateway_main.main() == 0
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert [(signum, stopped) for _, _, signum, stopped in served] == [
        (signal.SIGTERM, True),
        (signal.SIGINT, True),
    ]
    settings, kafka, _, _ = served[0]
    assert (settings.model, settings.region) == (MODEL, "eu-west-1")
    expected = msk_iam_config("b-1.example:9098", "eu-west-1")
    assert {k: v for k, v in kafka.items() if k != "oauth_cb"} == {
        k: v for k, v in expected.items() if k != "oauth_cb"
    }
    _fake_credentials(monkeypatch)
    token, _ = kafka["oauth_cb"](None)  # signed for the settings' Region
    url = urlparse(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    assert url.hostname == "kafka.eu-west-1.amazonaws.com"


def test_the_entry_point_logs_at_info_with_time_and_level(monkeypatch):
    import logging

    for name in (*ENVIRONMENT, "MLPLAT_MODEL_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(logging.root, "handlers", [])  # as in the container: nothing set up
    level = logging.root.level
    try:
        logging.root.setLevel(logging.WARNING)
        assert gateway_main.main() == 2  # configures logging first, then reads its settings
        configured = logging.root.level
    finally:
        logging.root.setLevel(level)
    (handler,) = logging.root.handlers
    record = logging.LogRecord("g", logging.INFO, __file__, 1, "forwarding :%d", (8090,), None)
    assert configured == logging.INFO
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO forwarding :8090", handler.format(record)
    )


class _PublisherStandIn(_Offers):
    made: list = []

    def __init__(self, **options):
        super().__init__()
        self.options, self.closed = options, []
        _PublisherStandIn.made.append(self)

    def close(self, timeout):
        self.closed.append(timeout)
        return 5


def _serve_in_thread(monkeypatch, echo_server, **variables):
    """``serve`` over a stand-in publisher in front of the echo server: (settings, stop event,
    thread, list that receives serve's return value), once its metrics server answers."""
    monkeypatch.setattr(gateway_main, "EventPublisher", _PublisherStandIn)
    settings = from_environment(
        ENVIRONMENT
        | {
            "MLPLAT_GATEWAY_PORT": str(_free_port()),
            "MLPLAT_GATEWAY_METRICS_PORT": str(_free_port()),
            "MLPLAT_MODEL_PORT": str(echo_server),
            **variables,
        }
    )
    stop, left = threading.Event(), []
    thread = threading.Thread(target=lambda: left.append(serve(settings, {"k": "v"}, stop)))
    thread.start()
    _wait_for(settings.metrics_port, "/healthz")
    return settings, stop, thread, left


def test_serve_wires_the_settings_and_returns_what_the_publisher_left_unsent(
    monkeypatch, echo_server, caplog
):
    import logging

    caplog.set_level(logging.INFO, logger=gateway_main.log.name)
    settings, stop, thread, left = _serve_in_thread(
        monkeypatch,
        echo_server,
        MLPLAT_EVENTS_QUEUE="12",
        MLPLAT_EVENTS_QUEUE_BYTES="3456",
        MLPLAT_EVENTS_FLUSH_SECONDS="4",
        MLPLAT_FEATURE_NAMES="a,b",
    )
    port, metrics_port = settings.listen_port, settings.metrics_port
    assert _exchange(port, "POST", "/invocations", b"[1, 2]")[0] == 200
    metrics = _exchange(metrics_port, "GET", "/metrics")
    assert metrics[2] == b"mlplat_events_published_total 7\n"  # the publisher's counters
    # named in a thread dump, and daemon: a gateway that fails never hangs on its servers
    threads = {t.name: t.daemon for t in threading.enumerate()}
    assert (threads.get("gateway"), threads.get("metrics")) == (True, True)
    stop.set()
    thread.join(10)
    (publisher,) = _PublisherStandIn.made[-1:]
    assert left == [5]
    assert publisher.options == {
        "model": MODEL,
        "version": VERSION,
        "topic": TOPIC,
        "kafka": {"k": "v"},
        "queue_size": 12,
        "queue_bytes": 3456,
        "feature_names": ("a", "b"),
    }
    assert len(publisher.offered) == 1
    (timeout,) = publisher.closed
    assert 3 < timeout <= 4  # what is left of the flush deadline
    said = [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name == gateway_main.log.name
    ]
    assert said == [("INFO", f"forwarding :{port} -> 127.0.0.1:{echo_server}")]
    for closed in (port, metrics_port):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", closed), timeout=1).close()


def test_in_process_the_servers_own_log_lines_go_to_the_gateways_logger_at_debug(
    proxied, caplog, monkeypatch
):
    """Not to stderr (BaseHTTPRequestHandler's default): a line per request would flood the
    pod's log; at debug level they can be turned on."""
    import logging

    caplog.set_level(logging.DEBUG, logger=gateway_proxy.log.name)
    monkeypatch.setattr(gateway_proxy, "MAX_BODY_BYTES", 1)
    port, _, _ = proxied
    metrics = _serving(gateway_proxy.MetricsServer(0, _Offers(), host="127.0.0.1"))
    try:
        assert _exchange(port, "POST", "/invocations", b"[1]")[0] == 413
        _exchange(metrics.server_address[1], "GET", "/healthz")
    finally:
        metrics.shutdown()
        metrics.server_close()
    lines = [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name == gateway_proxy.log.name
    ]
    assert ("DEBUG", "code 413, message request body too large") in lines, lines
    assert any(level == "DEBUG" and '"GET /healthz HTTP/1.1" 200' in line for level, line in lines)


def test_serve_stops_at_the_flush_deadline_even_with_a_request_in_flight(
    monkeypatch, echo_server, caplog
):
    settings, stop, thread, left = _serve_in_thread(
        monkeypatch, echo_server, MLPLAT_EVENTS_FLUSH_SECONDS="0.3"
    )
    port = settings.listen_port
    answers = []
    slow = threading.Thread(
        target=lambda: answers.append(
            _exchange(port, "POST", "/invocations", b"[1]", {"X-Test-Sleep": "2"})
        )
    )
    slow.start()
    time.sleep(0.3)  # the request is with the model server
    stopping = time.monotonic()
    stop.set()
    thread.join(10)
    stopped = time.monotonic() - stopping
    slow.join(10)
    assert left == [5] and stopped < 1.5  # did not wait the 2 s the request takes
    assert _PublisherStandIn.made[-1].closed == [0.0]  # nothing left of the deadline to flush
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "requests still in flight at the flush deadline" in warnings
    # the request in flight is answered, and told the connection ends with it
    ((status, headers, _),) = answers
    assert status == 200 and dict(headers)["Connection"] == "close"


def test_in_process_a_model_server_that_drops_every_connection_is_retried_once_then_a_502():
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def drop_each():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed by the test
            accepted.append(connection.recv(65536))
            connection.close()

    threading.Thread(target=drop_each, daemon=True).start()
    offers = _Offers()
    upstream = listener.getsockname()[1]
    server = _serving(gateway_proxy.GatewayServer(0, upstream, offers, host="127.0.0.1"))
    try:
        status, _, _ = _exchange(server.server_address[1], "POST", "/invocations", b"[1]")
    finally:
        server.shutdown()
        server.server_close()
        listener.close()
    assert status == 502 and offers.offered == []
    assert len(accepted) == 2  # the request, and its one retry on a new connection


def test_in_process_an_idle_worker_keeps_serving_the_producer_and_stops_at_once(
    stand_in_publisher,
):
    """Delivery reports and the OAUTHBEARER refresh are served from poll(): an idle worker
    polls without blocking, every tenth of a second, and still takes what is offered later."""
    polls = []
    publisher, producer = stand_in_publisher()
    real_poll = producer.poll
    producer.poll = lambda timeout: (polls.append(timeout), real_poll(timeout))[1]
    time.sleep(0.55)
    idle = list(polls)
    publisher.offer(gateway_publisher.Prediction(b"[1]", b"[1]", None, NOW))
    started = time.monotonic()
    assert _bounded(publisher.close, 5) == 0
    took = time.monotonic() - started
    assert len(idle) >= 3 and set(idle) == {0}
    assert set(polls) == {0}  # after a publish too: the worker never waits on the producer
    assert publisher.counts()["published"] == 1
    assert took < 0.5  # an idle worker notices the stop within its tenth of a second


def test_in_process_a_chunked_body_ending_with_bare_line_feeds_is_answered_at_once(proxied):
    """RFC 9112 lets a recipient take a bare LF as a line's end: the body ends at the empty
    line after the last chunk, without waiting for more (the connection stays open)."""
    port, _, _ = proxied
    with socket.create_connection(("127.0.0.1", port), timeout=3) as raw:
        raw.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\n[1]\n0\n\n"
        )
        head = raw.recv(65536)  # times out (fails) if the gateway still waits for trailers
    assert head.startswith(b"HTTP/1.1 200")


def test_in_process_the_model_servers_reason_phrase_is_kept(proxied):
    port, _, _ = proxied
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/invocations", b"[1]", {"X-Test-Reason": "Scored Fine"})
    response = connection.getresponse()
    assert (response.status, response.reason) == (200, "Scored Fine")
