"""Dead-letter and audit records: what was refused, why, and where it came from."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson

from edge.topics import SiteTopics
from pipelines.records import InboundRecord, OutboundRecord

DLQ_SCHEMA = "edge.dlq.v1"
AUDIT_SCHEMA = "edge.audit.v1"
DLQ_MAX_ORIGINAL_VALUE_BYTES = 512 * 1024
"""Most bytes of a refused record's value copied into its DLQ record. Base64 makes 683 KiB of
that, which with the clipped key and headers stays under Kafka's default 1 MiB message limit
(`message.max.bytes`): a DLQ record the broker refused would stop the partition. A longer value
is clipped, and the record says so; the whole original stays at its source offset."""
DLQ_MAX_ORIGINAL_KEY_BYTES = 4096
DLQ_MAX_ORIGINAL_HEADER_BYTES = 4096
"""Most bytes of each header value copied; a longer header is clipped in the base64 copy and
left off the DLQ record's own Kafka headers."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dlq_record(
    topics: SiteTopics, site_id: str, pipeline: str, reason: str, detail: str, source: InboundRecord
) -> OutboundRecord:
    """A DLQ record carrying the reason, the source position and the original bytes and headers
    (clipped to the `DLQ_MAX_ORIGINAL_*` sizes, with `original_value_bytes` and
    `original_value_truncated` saying whether the value was)."""
    key = source.key[:DLQ_MAX_ORIGINAL_KEY_BYTES] if source.key is not None else None
    value = source.value[:DLQ_MAX_ORIGINAL_VALUE_BYTES] if source.value is not None else None
    body = {
        "schema": DLQ_SCHEMA,
        "region": topics.region,
        "site_id": site_id,
        "ts": _now(),
        "pipeline": pipeline,
        "reason": reason,
        "detail": detail[:2000],
        "source": {"topic": source.topic, "partition": source.partition, "offset": source.offset},
        "original_key_b64": base64.b64encode(key).decode() if key is not None else None,
        "original_value_b64": base64.b64encode(value).decode() if value is not None else None,
        "original_value_bytes": len(source.value) if source.value is not None else 0,
        "original_value_truncated": source.value is not None and len(source.value) > DLQ_MAX_ORIGINAL_VALUE_BYTES,
        "original_headers": [
            [k, base64.b64encode(v[:DLQ_MAX_ORIGINAL_HEADER_BYTES]).decode()] for k, v in source.headers
        ],
    }
    headers = [(k, v) for k, v in source.headers if len(v) <= DLQ_MAX_ORIGINAL_HEADER_BYTES]
    return OutboundRecord(topics.dlq, key, orjson.dumps(body), headers)


def _audit_body(topics: SiteTopics, site_id: str, pipeline: str, action: str, reason: str) -> dict[str, object]:
    return {
        "schema": AUDIT_SCHEMA,
        "region": topics.region,
        "site_id": site_id,
        "ts": _now(),
        "pipeline": pipeline,
        "action": action,
        "reason": reason,
    }


def audit_record(
    topics: SiteTopics, site_id: str, pipeline: str, action: str, reason: str, source: InboundRecord
) -> OutboundRecord:
    """An audit record of a refusal: who refused what, when and why; never the payload."""
    body = _audit_body(topics, site_id, pipeline, action, reason)
    body["source"] = {"topic": source.topic, "partition": source.partition, "offset": source.offset}
    return OutboundRecord(topics.audit, None, orjson.dumps(body))


def accelerator_audit_record(topics: SiteTopics, site_id: str, pipeline: str, accelerator: str, reason: str) -> OutboundRecord:
    """An audit record of an accelerator taken out of rotation (it declared another region, or
    none): which one, when and why. Nothing was sent to it."""
    body = _audit_body(topics, site_id, pipeline, "refused-accelerator", reason)
    body["accelerator"] = accelerator
    return OutboundRecord(topics.audit, None, orjson.dumps(body))
