"""The latency phase's producer: events at a fixed rate from a process of its own, as a site's
real producers are, so that producing does not take CPU from the pipeline it measures.

Each event is a copy of a pre-built one with a new `event_id` that carries the wall-clock
millisecond it was handed to Kafka (`lat-<ms>-<sequence>`, 36 characters like a UUID), so the
latency of a score is its record's timestamp less the time in its event id. Events go out with
the record-batch API every `interval_s`, as many as are due, one record batch per partition.

The interval matters with the test broker: Tansu's in-memory storage spends time per stored
record batch on every fetch, so a producer that sends 500 small batches per partition each
second (2 ms) slows every fetch as the topic grows, and the latency measured climbs with the
length of the run (40,000 events/s through the broker alone: p99 14 ms in the first second,
over 300 ms ten seconds later). At 10 ms, the interval of a client's `linger.ms` of 10, it stays
flat. Apache Kafka indexes its log, so this is a property of the test broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

ID_PREFIX = "lat-"
_ID_FORMAT = ID_PREFIX.encode() + b"%013d-%018d"


def paced_event_id(sent_ms: int, sequence: int) -> str:
    """An event id that says when its event was produced, e.g. `lat-1764403200123-000000000000000042`."""
    return (_ID_FORMAT % (sent_ms, sequence)).decode()


def sent_ms_of(event_id: str) -> int | None:
    """The production time a `paced_event_id` carries (None for any other id)."""
    if not event_id.startswith(ID_PREFIX):
        return None
    return int(event_id[len(ID_PREFIX) : len(ID_PREFIX) + 13])


def split_templates(templates: Sequence[bytes]) -> list[tuple[bytes, bytes, bytes]]:
    """Each event template as the bytes before and after its event id, and its key (the cell):
    an event is then three byte strings joined (`head + id + tail`), which keeps the feed's
    own CPU off the cores the pipeline it measures runs on."""
    placeholder = paced_event_id(0, 0)
    split = []
    for template in templates:
        event = orjson.loads(template)
        event["event_id"] = placeholder
        head, _, tail = orjson.dumps(event).partition(placeholder.encode())
        split.append((head, tail, event["cell_id"].encode()))
    return split


def paced_event(head: bytes, tail: bytes, sent_ms: int, sequence: int) -> bytes:
    """A split template made whole again, with the `paced_event_id` of `sent_ms` and `sequence`."""
    return head + _ID_FORMAT % (sent_ms, sequence) + tail


async def _feed(
    bootstrap: str, topic: str, partitions: int, templates: Sequence[bytes], rate: float, seconds: float, interval_s: float
) -> None:
    events = split_templates(templates)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0, max_batch_size=512 * 1024)
    await producer.start()
    try:
        started = time.monotonic()
        total, sent = int(rate * seconds), 0
        pending: list[asyncio.Future[object]] = []
        while sent < total:
            due = min(total, int(rate * (time.monotonic() - started))) - sent
            if due > 0:
                now_ms = int(time.time() * 1000)
                batches = [producer.create_batch() for _ in range(partitions)]
                for seq in range(sent, sent + due):
                    head, tail, key = events[seq % len(events)]
                    value = paced_event(head, tail, now_ms, seq)
                    p = seq % partitions
                    if batches[p].append(key=key, value=value, timestamp=now_ms) is None:
                        # A tick after a stall carries more than one batch holds: send it full.
                        pending.append(await producer.send_batch(batches[p], topic, partition=p))
                        batches[p] = producer.create_batch()
                        if batches[p].append(key=key, value=value, timestamp=now_ms) is None:
                            raise ValueError(f"an event of {len(value)} bytes is larger than the producer's batch size")
                for p, batch in enumerate(batches):
                    if batch.record_count():
                        pending.append(await producer.send_batch(batch, topic, partition=p))
                sent += due
                if len(pending) > 1000:
                    await asyncio.gather(*pending)
                    pending.clear()
            await asyncio.sleep(interval_s)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


def _feed_process(
    bootstrap: str, topic: str, partitions: int, templates: list[bytes], rate: float, seconds: float, interval_s: float
) -> None:
    asyncio.run(_feed(bootstrap, topic, partitions, templates, rate, seconds, interval_s))


async def run_paced_feed(
    bootstrap: str, topic: str, partitions: int, templates: list[bytes], rate: float, seconds: float,
    interval_s: float = 0.010,
) -> None:
    """Produce `rate` events/s for `seconds`, sending every `interval_s`, from a child process;
    return when it is done.

    Raises:
        RuntimeError: the child failed (its traceback is on stderr).
    """
    process = multiprocessing.get_context("spawn").Process(
        target=_feed_process, args=(bootstrap, topic, partitions, templates, rate, seconds, interval_s), name="paced-feed"
    )
    # Starting a spawned child writes its arguments (the templates, megabytes) into a pipe that
    # the child reads only once its interpreter is up: off the event loop, which in the bench
    # is also the pipeline's.
    starting = asyncio.get_running_loop().run_in_executor(None, process.start)
    try:
        await asyncio.shield(starting)
        while process.is_alive():
            await asyncio.sleep(0.05)
    finally:
        # Cancelled while it starts: wait for the start, so that what it started is stopped here.
        with contextlib.suppress(Exception):
            await starting
        if process.is_alive():
            process.kill()
        if process.pid is not None:
            process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"the paced producer exited with status {process.exitcode}")


async def partition_ids(bootstrap: str, topic: str) -> list[int]:
    """The partitions of a topic, asked of the brokers: a consumer without a subscription knows
    none until it does (Apache Kafka answers its bootstrap metadata request with no topic)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for t in described for p in t["partitions"])


async def paced_latencies_ms(bootstrap: str, topic: str, start: dict[int, int] | None = None) -> np.ndarray:
    """Latency of every score of a paced event on `topic` (from the offsets `start`, by partition;
    None: from the beginning): its record time less its production time."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partition_ids(bootstrap, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        for tp in partitions:
            if start is not None and start.get(tp.partition):
                consumer.seek(tp, start[tp.partition])
        end = await consumer.end_offsets(partitions)
        out: list[int] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for r in records:
                    sent = sent_ms_of(orjson.loads(r.value)["event_id"])
                    if sent is not None:
                        out.append(r.timestamp - sent)
        return np.array(out, dtype=np.float64)
    finally:
        await consumer.stop()


_SENT_MARK = b'"event_id":"' + ID_PREFIX.encode()


def _sent_ms_of_record(value: bytes) -> int | None:
    """The production time in a paced score record's event id, found without parsing it."""
    at = value.find(_SENT_MARK)
    if at < 0:
        return None
    at += len(_SENT_MARK)
    digits = value[at : at + 13]
    return int(digits) if digits.isdigit() else None


async def _watch(bootstrap: str, topic: str, isolation_level: str, ready: Any, stop: Any) -> list[float]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5, isolation_level=isolation_level
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partition_ids(bootstrap, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)  # resolved now, before anything is fed
        ready.set()
        latencies: list[float] = []
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=100)
            now_ms = time.time() * 1000
            for records in fetched.values():
                for r in records:
                    sent = _sent_ms_of_record(r.value)
                    if sent is not None:
                        latencies.append(now_ms - sent)
        return latencies
    finally:
        await consumer.stop()


def _watch_process(bootstrap: str, topic: str, isolation_level: str, ready: Any, stop: Any, results: Any) -> None:
    latencies = asyncio.run(_watch(bootstrap, topic, isolation_level, ready, stop))
    results.send_bytes(np.array(latencies, dtype=np.float64).tobytes())


class LatencyWatch:
    """Latency of paced events' scores as a consumer of `topic` receives them, from a process of
    its own (reading every score on the pipeline's cores would slow what it measures): its wall
    clock at receipt less the time in the event id. With `isolation_level="read_committed"` a
    score counts only once its transaction is committed, which is when an exactly-once consumer
    sees it; the record's own timestamp (set when it was produced) would leave the commit out.

    `async with LatencyWatch(bootstrap, topic, "read_committed") as watch: ...; watch.latencies_ms`
    (starts at the topic's end; stops reading once the block is left, after `linger_s`)."""

    def __init__(self, bootstrap: str, topic: str, isolation_level: str, linger_s: float = 1.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready, self._stop = context.Event(), context.Event()
        self._results, child_end = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_watch_process, args=(bootstrap, topic, isolation_level, self._ready, self._stop, child_end),
            name="latency-watch",
        )
        self._linger_s = linger_s
        self.latencies_ms: list[float] = []

    async def __aenter__(self) -> LatencyWatch:
        self._process.start()
        if not await asyncio.to_thread(self._ready.wait, 60):
            self._process.kill()
            raise RuntimeError("the latency watch did not start within 60 s")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.sleep(self._linger_s)
        self._stop.set()
        try:
            if await asyncio.to_thread(self._results.poll, 60):
                self.latencies_ms = np.frombuffer(self._results.recv_bytes(), dtype=np.float64).tolist()
        finally:
            await asyncio.to_thread(self._process.join, 10)
            if self._process.is_alive():
                self._process.kill()
