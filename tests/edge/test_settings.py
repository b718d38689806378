"""Settings come from the environment, are validated, and default to production-safe values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edge.errors import SiteConfigError
from edge.kafka import client_options, producer_options
from edge.settings import EdgeSettings


def test_region_and_site_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_REGION", "kr-busan")
    monkeypatch.setenv("EDGE_SITE_ID", "PUS-HD-0007")
    monkeypatch.setenv("EDGE_KAFKA_BOOTSTRAP_SERVERS", "10.0.0.1:9092, 10.0.0.2:9092")
    settings = EdgeSettings()  # type: ignore[call-arg]
    assert (settings.region, settings.site_id) == ("kr-busan", "PUS-HD-0007")
    assert settings.bootstrap_list() == ["10.0.0.1:9092", "10.0.0.2:9092"]


def test_a_missing_region_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGE_REGION", raising=False)
    with pytest.raises(ValidationError, match="region"):
        EdgeSettings(site_id="S1")  # type: ignore[call-arg]


@pytest.mark.parametrize("region", ["KR-Seoul", "kr.seoul", "", "kr_seoul"])
def test_a_region_that_cannot_prefix_a_topic_is_refused(region: str) -> None:
    with pytest.raises(ValidationError):
        EdgeSettings(region=region, site_id="S1")


def test_producers_wait_for_all_replicas_and_are_idempotent_by_default() -> None:
    options = producer_options(EdgeSettings(region="kr-seoul", site_id="S1"))
    assert options["acks"] == "all" and options["enable_idempotence"] is True


def test_sasl_without_a_mechanism_is_refused_as_a_site_configuration_error() -> None:
    settings = EdgeSettings(region="kr-seoul", site_id="S1", kafka_security_protocol="SASL_PLAINTEXT")
    with pytest.raises(SiteConfigError, match="EDGE_KAFKA_SASL_MECHANISM is required"):
        client_options(settings)


def test_sasl_password_is_passed_but_never_printed() -> None:
    settings = EdgeSettings(
        region="kr-seoul", site_id="S1", kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username="edge", kafka_sasl_password="s3cret",  # type: ignore[arg-type]
    )
    assert client_options(settings)["sasl_plain_password"] == "s3cret"
    assert "s3cret" not in repr(settings)


def test_a_site_serves_its_own_events_unless_a_list_of_sites_says_otherwise() -> None:
    assert EdgeSettings(region="kr-seoul", site_id="S1").served_sites() == {"S1"}
    listed = EdgeSettings(region="kr-seoul", site_id="S1", served_site_ids=" S1, S2 ,")
    assert listed.served_sites() == {"S1", "S2"}


def test_a_served_site_id_that_is_not_an_id_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="must match"):
        EdgeSettings(region="kr-seoul", site_id="S1", served_site_ids="S1,010-1234 5678")

