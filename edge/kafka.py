"""Kafka client options shared by every consumer, producer and admin client of the site."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.helpers import create_ssl_context

from edge.errors import SiteConfigError
from edge.settings import EdgeSettings


def client_options(settings: EdgeSettings) -> dict[str, Any]:
    """Connection and security keyword arguments for aiokafka clients."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_list(),
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,
            keyfile=settings.kafka_ssl_keyfile,
        )
    if settings.kafka_security_protocol.startswith("SASL"):
        if settings.kafka_sasl_mechanism is None:
            raise SiteConfigError("EDGE_KAFKA_SASL_MECHANISM is required with a SASL security protocol")
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def producer_options(settings: EdgeSettings) -> dict[str, Any]:
    """A producer that waits for every in-sync replica, idempotent unless the settings say not."""
    return client_options(settings) | {
        "acks": "all",
        "enable_idempotence": settings.kafka_enable_idempotence,
        "max_batch_size": 512 * 1024,
        "linger_ms": 0,
        "request_timeout_ms": 30_000,
    }


async def start_producer(settings: EdgeSettings) -> AIOKafkaProducer:
    """A started producer with `producer_options(settings)`.

    Raises:
        SiteConfigError: the idempotent producer is on and the broker answered but gave it no
            producer id (a broker without idempotence, e.g. the embedded dev broker): one line
            naming `EDGE_KAFKA_ENABLE_IDEMPOTENCE`, instead of the client's bare error.
        KafkaError: anything else, e.g. no broker reachable.
    """
    producer = AIOKafkaProducer(**producer_options(settings))
    try:
        await producer.start()
    except KafkaError as exc:
        await producer.stop()
        if settings.kafka_enable_idempotence and not isinstance(exc, KafkaConnectionError):
            raise SiteConfigError(
                f"the broker at {settings.kafka_bootstrap_servers} gave the idempotent producer no producer id "
                f"({type(exc).__name__}); it does not support idempotence: set EDGE_KAFKA_ENABLE_IDEMPOTENCE=false "
                "for it (production Apache Kafka supports it: keep it on there)"
            ) from exc
        raise
    return producer
