"""Dead-letter and audit records: what was refused, why, and where it came from."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson

from edge.topics import SiteTopics
from pipelines.records import InboundRecord, OutboundRecord

DLQ_SCHEMA = "edge.dlq.v1"
AUDIT_SCHEMA = "edge.audit.v1"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dlq_record(
    topics: SiteTopics, site_id: str, pipeline: str, reason: str, detail: str, source: InboundRecord
) -> OutboundRecord:
    """A DLQ record carrying the reason, the source position and the original bytes and headers."""
    body = {
        "schema": DLQ_SCHEMA,
        "region": topics.region,
        "site_id": site_id,
        "ts": _now(),
        "pipeline": pipeline,
        "reason": reason,
        "detail": detail[:2000],
        "source": {"topic": source.topic, "partition": source.partition, "offset": source.offset},
        "original_key_b64": base64.b64encode(source.key).decode() if source.key is not None else None,
        "original_value_b64": base64.b64encode(source.value).decode() if source.value is not None else None,
        "original_headers": [[k, base64.b64encode(v).decode()] for k, v in source.headers],
    }
    return OutboundRecord(topics.dlq, source.key, orjson.dumps(body), list(source.headers))


def audit_record(
    topics: SiteTopics, site_id: str, pipeline: str, action: str, reason: str, source: InboundRecord
) -> OutboundRecord:
    """An audit record of a refusal: who refused what, when and why; never the payload."""
    body = {
        "schema": AUDIT_SCHEMA,
        "region": topics.region,
        "site_id": site_id,
        "ts": _now(),
        "pipeline": pipeline,
        "action": action,
        "reason": reason,
        "source": {"topic": source.topic, "partition": source.partition, "offset": source.offset},
    }
    return OutboundRecord(topics.audit, None, orjson.dumps(body))
