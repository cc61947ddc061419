"""The client's test doubles: the registry in moto's DynamoDB, a scripted HTTP server on
127.0.0.1 standing in for an EKS route, a fake clock, and a sink that keeps the EMF lines."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from moto import mock_aws

from components.data import REGISTRY_KEYS
from components.registry_route import Route, dynamodb_json, model_key, served_fields

REGION = "us-east-1"
TABLE = "mlplat-test-model-registry"


@dataclass
class FakeClock:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Registry:
    """Writes records the way the platform does (``components.registry_route``)."""

    def __init__(self, client) -> None:
        self.client = client

    def serve(self, team: str, model: str, version: int, route: Route) -> None:
        item = dynamodb_json(served_fields(team, model, version, route))
        self.client.put_item(TableName=TABLE, Item=item)

    def record_version(self, team: str, model: str, version: int, route: Route) -> None:
        fields = {"modelKey": model_key(team, model), "version": version, "model": model}
        item = dynamodb_json({**fields, "team": team, **route.attributes()})
        self.client.put_item(TableName=TABLE, Item=item)


@pytest.fixture
def aws(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


@pytest.fixture
def registry(aws) -> Registry:
    client = boto3.client("dynamodb", region_name=REGION)
    keys = REGISTRY_KEYS
    client.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": keys.hash_key, "KeyType": "HASH"},
            {"AttributeName": keys.range_key, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": keys.hash_key, "AttributeType": keys.hash_type},
            {"AttributeName": keys.range_key, "AttributeType": keys.range_type},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return Registry(client)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b'{"score": 0.5}'
    delay: float = 0.0


class ScriptedServer:
    """Answers POSTs with the scripted replies in order (the last one repeats)."""

    def __init__(self) -> None:
        self.replies: list[Reply] = [Reply()]
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                reply = server.replies.pop(0) if len(server.replies) > 1 else server.replies[0]
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass  # the client gave up (its timeout), as intended by the test

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/invocations"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    thread = threading.Thread(target=scripted.httpd.serve_forever, daemon=True)
    thread.start()
    yield scripted
    scripted.httpd.shutdown()
    scripted.httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def emitted() -> list[str]:
    return []


def parse_emf(line: str) -> dict:
    """An EMF line's metrics by name, checked against the format's required structure."""
    document = json.loads(line)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert isinstance(document["_aws"]["Timestamp"], int)
    for dimension_set in directive["Dimensions"]:
        assert all(isinstance(document[key], str) for key in dimension_set)
    metrics = {m["Name"]: document[m["Name"]] for m in directive["Metrics"]}
    return {
        "namespace": directive["Namespace"],
        "dimensions": directive["Dimensions"],
        "metrics": metrics,
        "document": document,
    }
