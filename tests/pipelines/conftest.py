"""Fixtures the pipeline tests share: a started accelerator client for the session's accelerator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from edge.settings import EdgeSettings
from pipelines.accel_client import AcceleratorClient


@pytest.fixture
async def client(accel_port: int) -> AsyncIterator[AcceleratorClient]:
    """A client of the session's accelerator process, for site SEL-GN-0042 in kr-seoul."""
    settings = EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042", accel_targets=f"127.0.0.1:{accel_port}")
    async with AcceleratorClient(settings, timeout_s=10, attempts=2) as accel:
        yield accel
