"""Accelerator targets become one balanced gRPC target, and servers outside the region are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from accel.grpc.servicer import SiteIdentity
from accel.server import AccelServer
from accel.settings import AccelSettings
from edge.settings import EdgeSettings
from pipelines.accel_client import AcceleratorClient, channel_target
from pipelines.errors import StartupRefused


def test_a_list_of_ipv4_targets_becomes_an_address_list() -> None:
    assert channel_target("10.0.0.1:8001, 10.0.0.2:8001") == "ipv4:10.0.0.1:8001,10.0.0.2:8001"


def test_a_dns_target_is_kept_for_grpc_to_resolve() -> None:
    assert channel_target("dns:///accel.edge.svc:8001") == "dns:///accel.edge.svc:8001"


def test_a_list_of_host_names_is_refused_with_the_fix() -> None:
    with pytest.raises(StartupRefused, match="give one dns:///name:port target"):
        channel_target("accel-0:8001,accel-1:8001")


async def test_an_accelerator_in_another_region_is_refused_before_any_data_is_sent() -> None:
    settings = AccelSettings(port=0)
    async with AccelServer(settings, SiteIdentity("jp-tokyo", "TYO-1")) as server:
        edge = EdgeSettings(region="kr-seoul", site_id="S1", accel_targets=server.address)
        client = AcceleratorClient(edge, timeout_s=5, attempts=2)
        with pytest.raises(StartupRefused, match="declares region 'jp-tokyo', this site is in 'kr-seoul'"):
            await client.start()
        await client.stop()


async def test_an_unreachable_accelerator_refuses_start_with_the_address(tmp_path: Path) -> None:
    from edge.broker import free_port

    edge = EdgeSettings(region="kr-seoul", site_id="S1", accel_targets=f"127.0.0.1:{free_port()}")
    client = AcceleratorClient(edge, timeout_s=0.5, attempts=2)
    with pytest.raises(StartupRefused, match="did not answer"):
        await client.start()
