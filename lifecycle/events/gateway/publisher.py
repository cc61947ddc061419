"""Publishing off the request path: a bounded queue, a worker thread, an idempotent producer.

``offer`` is all a request does: put the prediction on the queue, or count it dropped when the
queue is full. The worker builds and validates the events (``lifecycle.events``), hands them to
librdkafka (whose own buffer is bounded too: ``BufferError`` is a drop) and serves its callbacks
(delivery reports, OAUTHBEARER token refresh). ``close`` drains the queue and flushes within a
deadline, so a pod that stops publishes what it accepted unless Kafka cannot take it in time.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confluent_kafka import KafkaException, Producer

from lifecycle.attribution import MalformedInferenceId, inference_id, parse_inference_id
from lifecycle.events import EventError, encode, prediction_event
from lifecycle.events.gateway.rows import Unpaired, paired_rows

log = logging.getLogger(__name__)

# What each counter counts (exported as mlplat_events_<name>_total).
COUNTERS = {
    "published": "events Kafka acknowledged",
    "dropped": "predictions dropped because the queue or the producer's buffer was full",
    "failed": "events Kafka did not acknowledge in time (message.timeout.ms) or refused",
    "unattributed": "requests without a valid X-Mlplat-Inference-Id (an id was minted)",
    "unpaired": "predictions whose request and response do not pair up row for row",
    "invalid": "events that do not match the schema or are larger than a record (not published)",
}


DEFAULT_QUEUE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Prediction:
    request: bytes
    response: bytes
    inference_id: str | None  # the caller's header, as sent
    time: datetime


def producer_config(
    base: dict[str, Any], model: str, queue_size: int, queue_bytes: int
) -> dict[str, Any]:
    """Idempotent (the role may WriteDataIdempotently: no duplicates on retry), acknowledged by
    every in-sync replica, batched for 50 ms, and bounded: at most ``queue_size`` events and
    ``queue_bytes`` wait in librdkafka (its own default is 1 GB), each for at most 30 s."""
    return {
        **base,
        "client.id": f"mlplat-events-{model}",
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 50,
        "compression.type": "lz4",
        "queue.buffering.max.messages": queue_size,
        "queue.buffering.max.kbytes": max(1, queue_bytes // 1024),
        "message.timeout.ms": 30_000,
    }


def _size(prediction: Prediction) -> int:
    return len(prediction.request) + len(prediction.response)


class EventPublisher:
    def __init__(
        self,
        *,
        model: str,
        version: int,
        topic: str,
        kafka: dict[str, Any],
        queue_size: int,
        queue_bytes: int = DEFAULT_QUEUE_BYTES,
        feature_names: Sequence[str] = (),
    ) -> None:
        """``queue_size``, ``queue_bytes``: how many predictions, and how many bytes of their
        bodies, may wait to be published (and as much again in the producer's buffer)."""
        self.model, self.version, self.topic = model, version, topic
        self._names = tuple(feature_names)
        self._queue: queue.Queue[Prediction] = queue.Queue(maxsize=queue_size)
        self._max_bytes, self._queued_bytes = queue_bytes, 0
        self._producer: Producer | None = Producer(
            producer_config(kafka, model, queue_size, queue_bytes)
        )
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._worker = threading.Thread(target=self._run, name="events-publisher", daemon=True)
        self._worker.start()

    # --- the request path -----------------------------------------------------------------------

    def offer(self, prediction: Prediction) -> None:
        """Never blocks: a full queue (by count or by bytes) drops the prediction (counted)."""
        size = _size(prediction)
        with self._lock:
            if self._queued_bytes + size > self._max_bytes:
                self._counts["dropped"] += 1
                return
            self._queued_bytes += size
        try:
            self._queue.put_nowait(prediction)
        except queue.Full:
            with self._lock:
                self._queued_bytes -= size
                self._counts["dropped"] += 1

    # --- the worker -----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set() or not self._queue.empty():
            try:
                prediction = self._queue.get(timeout=0.1)
            except queue.Empty:
                self._producer.poll(0)
                continue
            with self._lock:
                self._queued_bytes -= _size(prediction)
            try:
                self._publish(prediction)
            except Exception:  # the worker must outlive any one prediction
                log.exception("event not published")
                self._count("invalid")
            self._producer.poll(0)

    def _publish(self, prediction: Prediction) -> None:
        request_id = self._attributed(prediction.inference_id)
        try:
            rows = paired_rows(prediction.request, prediction.response, self._names)
        except Unpaired as error:
            log.debug("not published: %s", error)
            self._count("unpaired")
            return
        for features, output in rows:
            try:
                key, value = encode(
                    prediction_event(
                        model=self.model,
                        version=self.version,
                        inference_id=request_id,
                        features=features,
                        output=output,
                        time=prediction.time,
                    )
                )
            except (EventError, TypeError, ValueError) as error:
                log.debug("invalid event: %s", error)
                self._count("invalid")
                continue
            try:
                self._producer.produce(self.topic, value, key, on_delivery=self._delivered)
            except BufferError:
                self._count("dropped")
            except KafkaException as error:  # larger than a record may be, say
                log.debug("refused by the producer: %s", error)
                self._count("invalid")

    def _attributed(self, header: str | None) -> str:
        if header:
            try:
                parse_inference_id(header)
                return header
            except MalformedInferenceId:
                pass
        self._count("unattributed")
        return inference_id(self.model, self.version)

    def _delivered(self, error, _message) -> None:
        self._count("failed" if error is not None else "published")

    # --- metrics and shutdown -------------------------------------------------------------------

    def _count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {name: self._counts[name] for name in COUNTERS}

    def pending(self) -> int:
        return self._queue.qsize() + (len(self._producer) if self._producer is not None else 0)

    def close(self, timeout: float) -> int:
        """Drain the queue and flush within ``timeout`` seconds; returns the events not sent
        (counted as failed)."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._worker.join(max(0.0, deadline - time.monotonic()))
        queued = self._queue.qsize()
        unsent = self._producer.flush(max(0.0, deadline - time.monotonic()))
        if unsent:  # given up: their delivery reports (errors) count them as failed
            self._producer.purge()
            self._producer.flush(0)
        # Released now, not whenever the garbage collector breaks the callbacks' cycle: a
        # producer left behind keeps reconnecting (unless the worker still uses it).
        if not self._worker.is_alive():
            self._producer = None
        if queued:
            self._count("failed", queued)
        if queued + unsent:
            log.warning("events gateway stopped with %d events unsent", queued + unsent)
        return queued + unsent

    def metrics_text(self) -> str:
        """Prometheus text exposition of the counters and the backlog."""
        counts = self.counts()
        lines = []
        for name, help_text in COUNTERS.items():
            metric = f"mlplat_events_{name}_total"
            lines += [
                f"# HELP {metric} {help_text}",
                f"# TYPE {metric} counter",
                f"{metric} {counts[name]}",  # the scrape job adds namespace, model, pod
            ]
        lines += [
            "# HELP mlplat_events_pending events queued or in the producer, not yet acknowledged",
            "# TYPE mlplat_events_pending gauge",
            f"mlplat_events_pending {self.pending()}",
        ]
        return "\n".join(lines) + "\n"
