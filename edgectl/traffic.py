"""Producing synthetic traffic to Kafka at a bounded rate, with ground-truth labels in a header."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import orjson
from aiokafka import AIOKafkaProducer

from edgectl.synthetic import LabelledEvent, TrafficGenerator

log = logging.getLogger(__name__)
LABEL_HEADER = "x-synthetic-label"
"""Header with the ground truth (synthetic traffic only; real events never carry it)."""


def encode(labelled: LabelledEvent) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and headers of one generated event."""
    headers = [(LABEL_HEADER, labelled.label.encode())] if labelled.label else []
    return labelled.key.encode(), orjson.dumps(labelled.event), headers


async def produce_traffic(
    producer: AIOKafkaProducer,
    topic: str,
    generator: TrafficGenerator,
    *,
    rate_per_s: float,
    count: int | None,
    stop: asyncio.Event,
    on_sent: Callable[[int], None] | None = None,
    malformed_every: int = 0,
) -> int:
    """Send generator rounds at about `rate_per_s` events/s until `count` events or `stop`.

    With `malformed_every=N`, every Nth record is deliberately broken JSON, to show the DLQ at work.
    Returns how many records the broker acknowledged.
    """
    if rate_per_s <= 0:
        raise ValueError(f"rate must be > 0 events/s, got {rate_per_s}")
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = 0
    pending: list[LabelledEvent] = []
    while not stop.is_set() and (count is None or sent < count):
        if not pending:
            pending = generator.next_round()
        # Pace in slices of about 20 ms so the rate is smooth at any size.
        slice_size = max(1, int(rate_per_s * 0.02))
        if count is not None:
            slice_size = min(slice_size, count - sent)
        chunk, pending = pending[:slice_size], pending[slice_size:]
        futures: list[asyncio.Future[object]] = []
        for labelled in chunk:
            key, value, headers = encode(labelled)
            if malformed_every and (sent + len(futures) + 1) % malformed_every == 0:
                value = value[: len(value) // 2]
            futures.append(await producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*futures)
        sent += len(chunk)
        if on_sent is not None:
            on_sent(len(chunk))
        ahead = started + sent / rate_per_s - loop.time()
        if ahead > 0:
            try:
                await asyncio.wait_for(stop.wait(), ahead)
            except TimeoutError:
                pass
    return sent
