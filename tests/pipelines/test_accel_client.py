"""Accelerator targets become one balanced gRPC target, and servers outside the region are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accel.server import AccelServer
from accel.settings import AccelSettings
from edge.settings import EdgeSettings
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.service import SiteIdentity
from pipelines.accel_client import AcceleratorClient, _decoded, _status_error, channel_target
from pipelines.errors import AcceleratorUnavailable, InferenceRejected, StartupRefused


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
    from edgectl.broker import free_port

    edge = EdgeSettings(region="kr-seoul", site_id="S1", accel_targets=f"127.0.0.1:{free_port()}")
    client = AcceleratorClient(edge, timeout_s=0.5, attempts=2)
    with pytest.raises(StartupRefused, match="did not answer"):
        await client.start()


async def test_a_call_on_a_channel_closed_under_it_is_an_outage_not_a_crash() -> None:
    """An accelerator that left the target is closed once idle; a call that had already picked it
    must wait and retry like any outage, never escape with gRPC's UsageError."""
    async with AccelServer(AccelSettings(port=0), SiteIdentity("kr-seoul", "S1")) as server:
        edge = EdgeSettings(region="kr-seoul", site_id="S1", accel_targets=server.address)
        async with AcceleratorClient(edge, timeout_s=5, attempts=1) as client:
            (member,) = client._members.values()
            await member.channel.close()
            with pytest.raises(AcceleratorUnavailable):
                await client.infer("kpi-anomaly", {"features": np.zeros((1, 22), dtype=np.float32)}, ["score"])
            assert member.in_flight == 0


async def test_an_accelerator_declaring_another_region_after_start_gets_nothing_and_is_audited() -> None:
    async with AccelServer(AccelSettings(port=0), SiteIdentity("kr-seoul", "S1")) as home:
        edge = EdgeSettings(region="kr-seoul", site_id="S1", accel_targets=home.address, accel_recheck_s=60)
        async with AcceleratorClient(edge, timeout_s=5, attempts=2) as client:
            home.identity = SiteIdentity("jp-tokyo", "T1")  # what a pod restarted elsewhere would say
            home._servicer._identity = home.identity
            with pytest.raises(AcceleratorUnavailable, match="no accelerator in region is in rotation"):
                await client.infer("kpi-anomaly", {"features": np.zeros((1, 22), dtype=np.float32)}, ["score"])
            notice = client.notices.get_nowait()
            assert notice.accelerator == home.address and "'jp-tokyo'" in notice.reason
            served = home.repository.statistics("kpi-anomaly")
            assert sum(s.success.count + s.fail.count for s in served) == 0, "not one request reached it"


async def test_one_accelerator_down_at_start_does_not_keep_the_pipeline_from_starting() -> None:
    from edgectl.broker import free_port

    async with AccelServer(AccelSettings(port=0), SiteIdentity("kr-seoul", "S1")) as server:
        edge = EdgeSettings(region="kr-seoul", site_id="S1", accel_targets=f"{server.address},127.0.0.1:{free_port()}")
        async with AcceleratorClient(edge, timeout_s=1, attempts=2) as client:
            result = await client.infer("kpi-anomaly", {"features": np.zeros((1, 22), dtype=np.float32)}, ["score"])
    assert result.model_name == "kpi-anomaly"


def test_an_answer_whose_raw_contents_do_not_fit_its_shape_is_a_refusal_not_a_crash() -> None:
    """A malformed answer sends the batch to the DLQ with the reason; it never escapes as an
    error the pipeline does not expect."""
    response = pb.ModelInferResponse(model_name="m", model_version="1")
    response.outputs.add(name="score", datatype="FP32", shape=[2])
    response.raw_output_contents.append(b"\x00" * 7)
    with pytest.raises(InferenceRejected, match="10.0.0.9:8001 answered outputs this client cannot read: .*8 bytes"):
        _decoded("m", "10.0.0.9:8001", response)


def test_an_answer_with_fewer_raw_contents_than_outputs_is_a_refusal() -> None:
    response = pb.ModelInferResponse(model_name="m", model_version="1")
    response.outputs.add(name="score", datatype="FP32", shape=[1])
    with pytest.raises(InferenceRejected, match="cannot read"):
        _decoded("m", "10.0.0.9:8001", response)


@pytest.mark.parametrize(
    ("code", "retriable"),
    [("UNAVAILABLE", True), ("DEADLINE_EXCEEDED", True), ("RESOURCE_EXHAUSTED", True),
     ("INVALID_ARGUMENT", False), ("NOT_FOUND", False), ("UNKNOWN", False), ("INTERNAL", False)],
)
def test_a_status_becomes_an_error_whose_retriable_says_what_the_retry_loop_does(code: str, retriable: bool) -> None:
    error = _status_error(code, "m: boom")
    assert error.retriable is retriable
    assert isinstance(error, AcceleratorUnavailable if retriable else InferenceRejected)
    assert error.dlq_reason == (None if retriable else "inference")
