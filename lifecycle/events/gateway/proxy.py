"""The gateway's HTTP side: a forwarding server on the Service port, and a metrics server.

Forwarding keeps the request and the response as they are: method, path, headers (but the
hop-by-hop ones, RFC 9110 §7.6.1) and body go to the model server on loopback; its status,
headers and body come back byte for byte. Only a 2xx ``POST /invocations`` is offered to the
publisher, after the response is written. HTTP/1.1 with keep-alive on both sides; one upstream
connection per handler thread.
"""

from __future__ import annotations

import http.client
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lifecycle.events.gateway import INFERENCE_ID_HEADER, INVOCATIONS_PATH
from lifecycle.events.gateway.publisher import EventPublisher, Prediction

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# The model server's own timeout is 60 s (components.eks_model: gunicorn --timeout 60).
UPSTREAM_TIMEOUT_SECONDS = 65
# What one request may hold of the gateway's memory (its limit is 256 MiB): larger bodies are
# refused (413), chunked ones too.
MAX_BODY_BYTES = 25 * 1024 * 1024


class _Upstream(threading.local):
    connection: http.client.HTTPConnection | None = None


class GatewayServer(ThreadingHTTPServer):
    """Counts the requests in flight, so a stop waits for them and not for idle keep-alive
    connections (whose threads block reading a next request that will not come)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, port: int, upstream_port: int, publisher: EventPublisher, host: str = ""):
        self.upstream_port = upstream_port
        self.publisher = publisher
        self.upstream = _Upstream()
        self._in_flight = 0
        self.stopping = False  # set before shutdown: kept-alive connections close after a reply
        self._changed = threading.Condition()
        super().__init__((host, port), ForwardingHandler)

    @contextmanager
    def request_in_flight(self) -> Iterator[None]:
        with self._changed:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """After ``shutdown``: whether every request in flight finished within ``timeout``."""
        with self._changed:
            return self._changed.wait_for(lambda: self._in_flight == 0, timeout)


class ForwardingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GatewayServer
    # Idle keep-alive connections are closed after this; longer than the ALB's idle timeout
    # (60 s), as AWS advises for targets, so the ALB never reuses a connection being closed.
    timeout = 75

    def do_GET(self) -> None:
        self._forward()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        log.debug(format, *args)

    def _body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
                if sum(map(len, chunks)) > MAX_BODY_BYTES:
                    self.close_connection = True  # the rest of the body is not read
                    return None
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the body is not read
            return None
        return self.rfile.read(length) if length else b""

    def _forward(self) -> None:
        with self.server.request_in_flight():
            self._forward_one()

    def _forward_one(self) -> None:
        body = self._body()
        if body is None:
            self.send_error(413, "request body too large")
            return
        # Expect: 100-continue was answered here (BaseHTTPRequestHandler) and the body read.
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"expect"}
        }
        try:
            response = self._exchange(headers, body)
            payload = response.read()
        except TimeoutError:
            self._drop_upstream()
            self.send_error(504, "the model server did not answer in time")
            return
        except (OSError, http.client.HTTPException) as error:
            log.warning("model server unreachable: %s", error)
            self._drop_upstream()
            self.send_error(502, "model server unreachable")
            return
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        # RFC 9110 §8.6: no Content-Length on a 1xx or 204; a 304, and the answer to a HEAD,
        # carry the upstream's own (the length a GET's body would have had), if it sent one.
        status = response.status
        if self.command == "HEAD":
            length = response.getheader("Content-Length") or str(len(payload))
        elif status == 304:
            length = response.getheader("Content-Length")
        elif status < 200 or status == 204:
            length = None
        else:
            length = str(len(payload))
        if length is not None:
            self.send_header("Content-Length", length)
        if self.server.stopping:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()
        if self._predicted(response.status):
            self.server.publisher.offer(
                Prediction(body, payload, self.headers.get(INFERENCE_ID_HEADER), datetime.now(UTC))
            )

    def _predicted(self, status: int) -> bool:
        path = self.path.split("?")[0]
        return self.command == "POST" and path == INVOCATIONS_PATH and 200 <= status < 300

    def _drop_upstream(self) -> None:
        if self.server.upstream.connection is not None:
            self.server.upstream.connection.close()
            self.server.upstream.connection = None

    def _exchange(self, headers: dict, body: bytes) -> http.client.HTTPResponse:
        """One round trip; a kept-alive connection the server closed meanwhile is retried once
        on a new connection (nothing was processed: the request never reached it)."""
        for attempt in (1, 2):
            upstream = self.server.upstream
            if upstream.connection is None:
                upstream.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.server.upstream_port, timeout=UPSTREAM_TIMEOUT_SECONDS
                )
            try:
                upstream.connection.request(self.command, self.path, body=body, headers=headers)
                return upstream.connection.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                upstream.connection.close()
                upstream.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, publisher: EventPublisher, host: str = ""):
        self.publisher = publisher
        super().__init__((host, port), MetricsHandler)


class MetricsHandler(BaseHTTPRequestHandler):
    server: MetricsServer

    def do_GET(self) -> None:
        if self.path == "/metrics":
            body = self.server.publisher.metrics_text().encode()
            content_type = "text/plain; version=0.0.4"
        elif self.path == "/healthz":  # liveness: the gateway itself, not the model
            body, content_type = b"ok\n", "text/plain"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        log.debug(format, *args)
