"""Triton's own Python gRPC client, sync and asyncio, works unmodified against a real server.

The client runs in a subprocess (tests/accel/triton_scenarios.py): tritonclient and inference_protocol.generated
both define `inference.*` messages in protobuf's default pool, so one process cannot import both.
The server runs here, on this test module's event loop, on a loopback port.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from accel.server import AccelServer
from accel.settings import AccelSettings
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.service import SiteIdentity

from .conftest import write_doubler

SCRIPT = Path(__file__).with_name("triton_scenarios.py")
HAVE_TRITONCLIENT = importlib.util.find_spec("tritonclient") is not None
pytestmark = pytest.mark.skipif(not HAVE_TRITONCLIENT, reason="tritonclient is not installed (dev extra)")


def _scenario_names() -> list[str]:
    """The scenario names, read without importing tritonclient (the script imports it lazily)."""
    spec = importlib.util.spec_from_file_location("triton_scenarios", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.SCENARIOS)


class ClientRun:
    """What one run of the scenario script reported, and what it wrote to stderr."""

    def __init__(self, report: dict[str, str | None], stderr: str) -> None:
        self.report = report
        self.stderr = stderr


async def run_scenarios(address: str, *names: str) -> ClientRun:
    """Run tritonclient scenarios in a subprocess (dev mode, warnings as errors) against `address`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-X", "dev", "-W", "error", str(SCRIPT), address, *names,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()
    return ClientRun(json.loads(stdout), stderr.decode())


@pytest.fixture(scope="module")
def triton_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`doubler` versions 1 and 2, and `spare` (one version) for load/unload scenarios."""
    root = tmp_path_factory.mktemp("repository")
    for version in (1, 2):
        write_doubler(root / "doubler" / str(version) / "model.onnx")
    config = {"max_batch_size": 64, "max_queue_delay_us": 500, "latest_versions": 2}
    (root / "doubler" / "config.json").write_text(json.dumps(config))
    write_doubler(root / "spare" / "1" / "model.onnx")
    shutil.copy(root / "doubler" / "config.json", root / "spare" / "config.json")
    return root


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client_run(triton_repository: Path) -> AsyncIterator[ClientRun]:
    """Every scenario, run once by one client process against one server."""
    settings = AccelSettings(port=0, model_repository=triton_repository)
    async with AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server:
        yield await run_scenarios(server.address)


@pytest.mark.parametrize("scenario", _scenario_names())
def test_tritonclient_scenario_passes(client_run: ClientRun, scenario: str) -> None:
    """Each scenario's docstring (tests/accel/triton_scenarios.py) states the behaviour it checks."""
    failure = client_run.report.get(scenario, "scenario did not run")
    if failure is not None:
        pytest.fail(failure, pytrace=False)


def test_the_client_leaves_no_warnings_or_unclosed_resources(client_run: ClientRun) -> None:
    assert "Warning" not in client_run.stderr and "Exception ignored" not in client_run.stderr, client_run.stderr


def _declared_types() -> tuple[list[str], list[str]]:
    """Every message and enum our proto declares, nested ones included, by full name."""
    pending = list(pb.DESCRIPTOR.message_types_by_name.values())
    messages, enums = [], [e.full_name for e in pb.DESCRIPTOR.enum_types_by_name.values()]
    while pending:
        descriptor = pending.pop()
        if not descriptor.GetOptions().map_entry:
            messages.append(descriptor.full_name)
        pending.extend(descriptor.nested_types)
        enums.extend(e.full_name for e in descriptor.enum_types)
    return sorted(messages), sorted(enums)


async def test_every_declared_field_and_enum_value_is_tritons() -> None:
    """Our proto is a subset of Triton's wire format: each field we declare exists in Triton's
    message with the same number, type and cardinality, and each enum value has Triton's number."""
    messages, enums = _declared_types()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), "--describe", *messages, *enums,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    triton = json.loads(stdout)
    for name in messages:
        for field in pb.DESCRIPTOR.pool.FindMessageTypeByName(name).fields:
            assert field.name in triton[name], f"{name}.{field.name} is not in Triton's {name}"
            assert triton[name][field.name] == [field.number, field.type, field.is_repeated], f"{name}.{field.name}"
    for name in enums:
        ours = {v.name: v.number for v in pb.DESCRIPTOR.pool.FindEnumTypeByName(name).values}
        assert ours == triton[name], name
