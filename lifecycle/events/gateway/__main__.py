"""``python -m lifecycle.events.gateway``: serve until SIGTERM, then stop cleanly.

Kubernetes runs the container's preStop sleep first (the pod keeps serving while its load
balancer deregisters it, components/serving/draining.py), then sends SIGTERM: the gateway stops
accepting, finishes the requests in flight, and flushes the producer for at most
``MLPLAT_EVENTS_FLUSH_SECONDS``, within the pod's termination grace.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

from lifecycle.events.gateway.auth import msk_iam_config
from lifecycle.events.gateway.proxy import GatewayServer, MetricsServer
from lifecycle.events.gateway.publisher import EventPublisher
from lifecycle.events.gateway.settings import GatewaySettings, SettingsError, from_environment

log = logging.getLogger("lifecycle.events.gateway")


def serve(settings: GatewaySettings, kafka: dict, stop: threading.Event) -> int:
    """Run until ``stop`` is set; returns the events left unsent."""
    publisher = EventPublisher(
        model=settings.model,
        version=settings.version,
        topic=settings.topic,
        kafka=kafka,
        queue_size=settings.queue_size,
        queue_bytes=settings.queue_bytes,
        feature_names=settings.feature_names,
    )
    gateway = GatewayServer(settings.listen_port, settings.upstream_port, publisher)
    metrics = MetricsServer(settings.metrics_port, publisher)
    threads = [
        threading.Thread(target=server.serve_forever, name=name, daemon=True)
        for name, server in (("gateway", gateway), ("metrics", metrics))
    ]
    for thread in threads:
        thread.start()
    log.info("forwarding :%d -> 127.0.0.1:%d", settings.listen_port, settings.upstream_port)
    stop.wait()
    deadline = time.monotonic() + settings.flush_seconds
    gateway.stopping = True
    gateway.shutdown()  # no new connections
    if not gateway.wait_idle(settings.flush_seconds):
        log.warning("requests still in flight at the flush deadline")
    left = publisher.close(max(0.0, deadline - time.monotonic()))
    gateway.server_close()
    metrics.shutdown()
    metrics.server_close()
    return left


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        settings = from_environment()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serve(settings, msk_iam_config(settings.bootstrap_servers, settings.region), stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
