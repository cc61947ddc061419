"""The price of a model's prediction events: what the Firehose sink bills for reading them.

The sink (``components/streaming.py``) is one Firehose stream per team topic, with MSK as its
source, delivering to S3 with dynamic partitioning (a JQ query on ``.model``), 300 s or 64 MB
buffers and no format conversion. It has no fixed charge: it bills per GB read, so its cost is
the publishing models', priced here on each model's ``EksModel`` component from the events it
declares (``predictionEvents``: ``infra/declarations/events.py``). A serving stack then prices its
models' events alone, as in the whole environment, and each model's line carries its own.

Per month (Amazon Data Firehose pricing, MSK as source; GB = 2^30 bytes):
- **ingestion**: events × (bytes + 1) — MSK-source ingestion is billed on the higher of bytes
  ingested and delivered, and the sink appends a newline to each record — × the ingestion rate;
- **dynamic partitioning**: the same GB delivered × its per-GB rate, plus one S3 object per
  model per buffer flush (every 300 s while events flow, or each 64 MB, whichever comes first;
  no more objects than events) × the per-1,000-objects rate;
- **JQ processing hours**: billed by the time the partitioning query runs, which the declaration
  cannot tell; not estimated, and said so.
"""

from __future__ import annotations

from cost_model.graph import Resource
from cost_model.prices import HOURS_PER_MONTH, PriceLookupError, RegionPrices

EKS_MODEL = "mlplat:eks_model:EksModel"
GB = 2**30
# The sink's buffering (components/streaming.py; a test holds the two together).
BUFFER_SECONDS = 300
BUFFER_MB = 64
DELIMITER_BYTES = 1  # AppendDelimiterToRecord: "\n"


def objects_per_month(events: int, gigabytes: float) -> int:
    """S3 objects one model's partition is delivered as in a month."""
    flushes = HOURS_PER_MONTH * 3600 // BUFFER_SECONDS
    by_size = int(gigabytes * 1024 // BUFFER_MB) + 1
    return min(events, max(flushes, by_size))


def model_events(resource: Resource, prices: RegionPrices, region: str, context):
    from cost_model.estimate import Share, _money, _Priced, _rate

    declared = resource.outputs.get("predictionEvents")
    if not declared:
        return None  # the model publishes no events: nothing of its own to price
    if prices.firehose is None:
        raise PriceLookupError(f"no Firehose prices for {region} in the price snapshot")
    rates = prices.firehose
    events, size = int(declared["monthlyEvents"]), int(declared["eventBytes"])
    gigabytes = events * (size + DELIMITER_BYTES) / GB
    objects = objects_per_month(events, gigabytes)
    ingestion = gigabytes * rates.msk_ingestion_gb
    partitioning = gigabytes * rates.dynamic_partitioning_gb
    delivered = objects / 1000 * rates.dynamic_partitioning_per_1000_objects
    cost = ingestion + partitioning + delivered
    basis = (
        f"Firehose sink of topic {declared['topic']} (MSK source): {events:,} events/month × "
        f"({size} + {DELIMITER_BYTES}) B = {gigabytes:,.2f} GB × "
        f"({_rate(rates.msk_ingestion_gb)}/GB ingestion + "
        f"{_rate(rates.dynamic_partitioning_gb)}/GB dynamic partitioning) + {objects:,} objects "
        f"× {_rate(rates.dynamic_partitioning_per_1000_objects)}/1,000 = {_money(cost)} "
        f"(declared volume; JQ processing hours at {_rate(rates.jq_processing_hour)}/h not "
        "estimated)"
    )
    model, team = resource.outputs.get("model"), resource.outputs.get("team")
    return _Priced(cost, cost, basis, (Share(model, team, 1.0),) if model else ())


PRICERS = {EKS_MODEL: model_events}
