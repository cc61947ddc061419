"""The events gateway: a sidecar in an EKS model's pod that publishes its prediction events.

It owns the pod's Service port (``http``): every request is forwarded unchanged to the model
server on the pod's loopback and its response returned unchanged, byte for byte. For each
successful ``POST /invocations`` it publishes one event per predicted row (``lifecycle.events``:
model, version, inference id, time, input features, output) to the team's Kafka topic, keyed by
model, **after** the response is on its way: the request path only puts the request and response
bodies on a bounded queue. When the queue is full (Kafka slow or down) the prediction's events
are dropped and counted (``mlplat_events_dropped_total``), never waited for.

The inference id is the caller's ``X-Mlplat-Inference-Id`` header when it follows the attribution
contract (``lifecycle.attribution``: ``<model>@v<version>:<token>``, what ``mlplat.client``
sends); otherwise one is minted for the request and the event is counted as unattributed.

Modules: ``settings`` (its environment, checked), ``rows`` (request and response to rows),
``auth`` (MSK IAM tokens), ``publisher`` (queue and producer), ``proxy`` (the HTTP servers),
``__main__`` (wiring and shutdown).
"""

LISTEN_PORT = 8090  # the pod's "http" port when the gateway runs (components.eks_model)
METRICS_PORT = 9103  # Prometheus text: /metrics; liveness: /healthz
METRICS_PORT_NAME = "events-metrics"
INFERENCE_ID_HEADER = "X-Mlplat-Inference-Id"  # what mlplat.client sends (backends.invoke_http)
INVOCATIONS_PATH = "/invocations"  # the SageMaker container contract
