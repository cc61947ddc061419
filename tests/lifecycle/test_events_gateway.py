"""The events gateway, run for real: against a local stand-in of the model server and librdkafka's
in-process mock Kafka cluster (``test.mock.num.brokers``; its brokers listen on loopback, so a
Consumer reads back what the gateway published). No network and no AWS: Kafka "down" is a
bootstrap address nothing listens on."""

from __future__ import annotations

import base64
import json
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
from lifecycle.events.gateway.__main__ import serve
from lifecycle.events.gateway.auth import msk_iam_config, oauth_callback
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


def test_the_msk_token_is_a_presigned_connect_with_the_pods_credentials(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY123456")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
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
