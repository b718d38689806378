"""The `edge` command as operators script it: help lists settings, bad settings name the variable,
and the demo prints a summary line of key=value pairs."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from edge.topics import SiteTopics
from edgectl.broker import create_topics

EDGE = [sys.executable, "-m", "edgectl"]


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EDGE, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)


def test_help_lists_every_command() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for command in ("demo", "broker", "accel", "pipeline", "generate"):
        assert command in result.stdout


def test_pipeline_help_lists_the_environment_settings() -> None:
    result = _run("pipeline", "run", "--help")
    assert result.returncode == 0
    for name in ("EDGE_REGION", "EDGE_KAFKA_BOOTSTRAP_SERVERS", "EDGE_ACCEL_TARGETS", "PIPELINE_MAX_BATCH_RECORDS"):
        assert name in result.stdout


def test_a_missing_region_names_the_variable() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_")}
    result = _run("pipeline", "run", "kpi-anomaly", env=env)
    assert result.returncode != 0
    assert "EDGE_REGION" in result.stderr and "Traceback" not in result.stderr


def test_an_unknown_pipeline_lists_the_available_ones() -> None:
    result = _run("pipeline", "run", "weather-radar", env=os.environ | {"EDGE_REGION": "kr-seoul", "EDGE_SITE_ID": "S1"})
    assert result.returncode != 0
    for name in ("kpi-anomaly", "energy-saving", "cs-insights", "fiber-sensing"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_pipeline_help_lists_the_energy_saving_thresholds() -> None:
    result = _run("pipeline", "run", "--help")
    assert "ENERGY_SAVING_SLEEP_MAX_PRB_PCT" in result.stdout and "ENERGY_SAVING_MIN_SLEEP_S" in result.stdout


def test_pipeline_help_lists_every_pipelines_own_policies_under_its_name() -> None:
    result = _run("pipeline", "run", "--help")
    for name in (
        "KPI_ANOMALY_MAJOR_SCORE", "KPI_ANOMALY_CLEAR_AFTER_NORMAL", "CS_INSIGHTS_CHURN_HIGH_FROM",
        "CS_INSIGHTS_DLQ_ORIGINALS", "FIBER_SENSING_MIN_CONFIDENCE", "PIPELINE_INFER_RETRY_BACKOFF_S",
    ):
        assert name in result.stdout, name
    assert "PIPELINE_FIBER_" not in result.stdout


def test_a_pipeline_policy_out_of_range_is_named_by_its_variable_without_a_traceback() -> None:
    env = os.environ | {"EDGE_REGION": "kr-seoul", "EDGE_SITE_ID": "S1", "FIBER_SENSING_MIN_CONFIDENCE": "7"}
    result = _run("pipeline", "run", "fiber-sensing", env=env)
    assert result.returncode != 0
    assert "FIBER_SENSING_MIN_CONFIDENCE" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("ves", "expected"),
    [
        ({"VES_KPI_TOPICS": "kr-seoul.ves/pm"}, "VES_KPI_TOPICS: Value error, 'kr-seoul.ves/pm' is not a Kafka topic name"),
        ({"VES_KPI_TOPICS": "kr-seoul.ves.measurements", "VES_INVENTORY_FILE": "/no/such/cells.txt"},
         "refusing to start: VES_INVENTORY_FILE /no/such/cells.txt cannot be read"),
    ],
)
def test_a_bad_ves_input_setting_stops_the_start_before_anything_connects(ves: dict[str, str], expected: str) -> None:
    # No accelerator and no broker listen: the refusal comes before either is tried.
    env = os.environ | {"EDGE_REGION": "kr-seoul", "EDGE_SITE_ID": "S1", "EDGE_ACCEL_TARGETS": "127.0.0.1:1"} | ves
    result = _run("pipeline", "run", "energy-saving", env=env)
    assert result.returncode != 0
    assert expected in result.stderr and "Traceback" not in result.stderr and "accelerator" not in result.stderr


def test_demo_refuses_an_unknown_pipeline_naming_the_known_ones() -> None:
    result = _run("demo", "--seconds", "1", "--pipelines", "kpi-anomaly,weather-radar")
    assert result.returncode != 0
    assert "weather-radar" in result.stderr and "fiber-sensing" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.integration
def test_demo_runs_the_whole_site_and_prints_a_summary_line() -> None:
    """Every pipeline drains what its traffic produced; the unprefixed figures are the KPI anomaly
    pipeline's, and each pipeline's own follow under its name."""
    result = _run("demo", "--seconds", "6", "--rate", "500", "--cells", "48", "--utterance-rate", "50", timeout=150)
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    values = dict(pair.split("=") for pair in summary.removeprefix("summary: ").split())
    events_in, scores, dlq = int(values["events_in"]), int(values["scores_out"]), int(values["dlq"])
    assert events_in >= 2000
    assert events_in == int(values["produced"]), "the demo drains what it produced"
    assert scores + dlq == events_in
    assert dlq >= 1, "the demo's deliberately broken records reach the DLQ"
    assert int(values["anomalies"]) >= 1
    for name in ("kpi-anomaly", "energy-saving", "cs-insights", "fiber-sensing"):
        assert int(values[f"{name}.events_in"]) == int(values[f"{name}.produced"]) > 0, name
    assert int(values["energy-saving.forecasts_out"]) + int(values["energy-saving.dlq"]) == events_in
    assert int(values["energy-saving.recommendations"]) >= 1, "the night's low load lets cells sleep"
    cs_in = int(values["cs-insights.events_in"])
    assert int(values["cs-insights.insights_out"]) + int(values["cs-insights.dlq"]) == cs_in >= 250
    assert int(values["cs-insights.dlq"]) >= 1
    assert int(values["fiber-sensing.events_in"]) >= 4 * 5 and int(values["fiber-sensing.dlq"]) == 0
    assert re.search(r"kpi-anomaly: events_in=\d+ scores_out=\d+", result.stderr), "a progress line was shown"


@pytest.mark.integration
def test_the_demo_runs_its_kpi_pipelines_on_ves_traffic() -> None:
    """With `--kpi-format ves` the cell KPIs go out as perf3gpp events of three cells each; both
    KPI pipelines read every one and score each cell it carries."""
    result = _run("demo", "--seconds", "5", "--rate", "600", "--cells", "30", "--kpi-format", "ves",
                  "--pipelines", "kpi-anomaly,energy-saving", timeout=150)
    assert result.returncode == 0, result.stderr
    values = dict(pair.split("=") for pair in result.stdout.strip().splitlines()[-1].removeprefix("summary: ").split())
    records, scores, dlq = int(values["events_in"]), int(values["scores_out"]), int(values["dlq"])
    assert records == int(values["produced"]) >= 500, "the demo drains what it produced"
    assert dlq >= 1 and scores == 3 * (records - dlq), "three cells in each good VES record"
    assert int(values["energy-saving.forecasts_out"]) == scores
    assert "cell KPIs as VES perf3gpp" in result.stderr


@pytest.mark.integration
def test_accel_serve_stops_cleanly_on_sigterm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ready = tmp_path / "port"
    env = os.environ | {"EDGE_REGION": "kr-seoul", "EDGE_SITE_ID": "S1", "ACCEL_PORT": "0", "ACCEL_GRACE_PERIOD_S": "2"}
    with subprocess.Popen([*EDGE, "accel", "serve", "--ready-file", str(ready)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        try:
            until = time.monotonic() + 60
            while not ready.exists() and time.monotonic() < until and process.poll() is None:
                time.sleep(0.05)
            assert ready.exists(), "accelerator did not start"
            process.send_signal(signal.SIGTERM)
            assert process.wait(15) == 0
        finally:
            if process.poll() is None:
                process.kill()
        output, _ = process.communicate()
    assert "stopped" in output


def test_a_pipeline_pointed_at_a_dead_accelerator_refuses_to_start_with_the_address() -> None:
    from edgectl.broker import free_port

    port = free_port()
    env = os.environ | {"EDGE_REGION": "kr-seoul", "EDGE_SITE_ID": "S1", "EDGE_ACCEL_TARGETS": f"127.0.0.1:{port}",
                        "PIPELINE_INFER_TIMEOUT_S": "0.5", "PIPELINE_METRICS_PORT": "0"}
    result = _run("pipeline", "run", "kpi-anomaly", env=env)
    assert result.returncode != 0
    assert f"127.0.0.1:{port} did not answer" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_accelerator_with_half_a_tls_configuration_exits_with_the_setting_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cert = tmp_path / "server.crt"
    cert.write_text("not used")
    env = os.environ | {"EDGE_REGION": "kr-seoul", "EDGE_SITE_ID": "S1", "ACCEL_PORT": "0", "ACCEL_TLS_CERT_FILE": str(cert)}
    result = _run("accel", "serve", env=env)
    assert result.returncode != 0
    assert "ACCEL_TLS_KEY_FILE" in result.stderr and "Traceback" not in result.stderr


def test_bench_pipeline_help_lists_only_the_pipeline_bench_options() -> None:
    result = _run("bench", "pipeline", "--help")
    assert result.returncode == 0
    assert "--events" in result.stdout and "--feed-interval-ms" in result.stdout
    assert "--concurrency" not in result.stdout and "--url" not in result.stdout


def test_bench_accel_help_lists_only_the_accel_bench_options() -> None:
    result = _run("bench", "accel", "--help")
    assert result.returncode == 0
    assert "--concurrency" in result.stdout and "--url" in result.stdout
    assert "--events" not in result.stdout and "--utterances" not in result.stdout


def test_bench_state_takes_the_options_of_the_state_module() -> None:
    """`edge bench state` and `python -m edgectl.bench.state` offer the same options."""
    edge = _run("bench", "state", "--help")
    module = subprocess.run([sys.executable, "-m", "edgectl.bench.state", "--help"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert edge.returncode == module.returncode == 0
    options = set(re.findall(r"--[a-z-]+", edge.stdout))
    assert {"--records", "--max-entities", "--hostile-share", "--trace", "--json"} <= options
    assert options == set(re.findall(r"--[a-z-]+", module.stdout))


def test_bench_state_refuses_a_batch_over_the_entity_limit() -> None:
    result = _run("bench", "state", "--max-entities", "10", "--batch", "20")
    assert result.returncode != 0
    assert "--max-entities (10) must be at least --batch (20)" in result.stderr and "Traceback" not in result.stderr


def test_bench_without_a_target_names_the_benches() -> None:
    result = _run("bench")
    assert result.returncode != 0
    for name in ("accel", "pipeline", "kernels", "accel-soak", "cs-insights", "state"):
        assert name in result.stderr


@pytest.mark.tansu_only
def test_the_idempotent_producer_against_a_broker_without_it_stops_the_start_with_one_line_naming_the_setting(
    broker: str, accel_port: int,
) -> None:
    env = os.environ | {
        "EDGE_REGION": "kr-seoul", "EDGE_SITE_ID": "SEL-GN-0042", "EDGE_KAFKA_BOOTSTRAP_SERVERS": broker,
        "EDGE_KAFKA_ENABLE_IDEMPOTENCE": "true", "EDGE_ACCEL_TARGETS": f"127.0.0.1:{accel_port}",
        "PIPELINE_METRICS_PORT": "0",
    }
    result = _run("pipeline", "run", "kpi-anomaly", env=env, timeout=90)
    assert result.returncode != 0
    assert "EDGE_KAFKA_ENABLE_IDEMPOTENCE=false" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr


@pytest.mark.tansu_only
def test_exactly_once_against_a_broker_without_transactions_stops_the_start_with_one_line_naming_the_setting(
    broker: str, accel_port: int,
) -> None:
    env = os.environ | {
        "EDGE_REGION": "kr-seoul", "EDGE_SITE_ID": "SEL-GN-0042", "EDGE_KAFKA_BOOTSTRAP_SERVERS": broker,
        "EDGE_KAFKA_ENABLE_IDEMPOTENCE": "false", "EDGE_ACCEL_TARGETS": f"127.0.0.1:{accel_port}",
        "PIPELINE_METRICS_PORT": "0", "PIPELINE_DELIVERY": "exactly-once", "EDGE_LOG_LEVEL": "WARNING",
    }
    asyncio.run(create_topics(broker, [SiteTopics("kr-seoul").kpi], 2))
    result = _run("pipeline", "run", "kpi-anomaly", env=env, timeout=90)
    assert result.returncode != 0
    assert "refusing to start: PIPELINE_DELIVERY=exactly-once needs Kafka transactions" in result.stderr, result.stderr
    assert "PIPELINE_DELIVERY=at-least-once" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr


@pytest.mark.kafka_only
def test_a_session_timeout_the_brokers_refuse_stops_the_start_with_one_line_naming_the_setting(
    broker: str, accel_port: int,
) -> None:
    env = os.environ | {
        "EDGE_REGION": "kr-seoul", "EDGE_SITE_ID": "SEL-GN-0042", "EDGE_KAFKA_BOOTSTRAP_SERVERS": broker,
        "EDGE_ACCEL_TARGETS": f"127.0.0.1:{accel_port}", "PIPELINE_METRICS_PORT": "0",
        "PIPELINE_SESSION_TIMEOUT_MS": "1900000", "PIPELINE_MAX_POLL_INTERVAL_MS": "2000000",
    }
    asyncio.run(create_topics(broker, [SiteTopics("kr-seoul").kpi], 2))  # a missing input is refused first
    result = _run("pipeline", "run", "kpi-anomaly", env=env, timeout=90)
    assert result.returncode != 0
    assert "PIPELINE_SESSION_TIMEOUT_MS=1900000" in result.stderr and "Traceback" not in result.stderr
