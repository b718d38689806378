"""Triton's Python gRPC client (tritonclient) driven against our server, run as its own process.

tritonclient registers its own `inference.*` protobuf messages in the default descriptor pool and
so cannot be imported beside `inference_protocol.generated`; tests/accel/test_triton_client.py runs this file in
a subprocess: `python triton_scenarios.py HOST:PORT [SCENARIO...]`. It prints one JSON object,
scenario name -> null (passed) or the failure's traceback. `--describe MESSAGE...` prints
Triton's own descriptors of those messages instead, for the wire-format comparison.

Expects the server's repository to hold `doubler` (versions 1 and 2, y = 2x and positive = x > 0
over FP32 [batch, 4]) and `spare` (the same graph, one version) for load/unload.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sys
import traceback
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np

X = np.arange(8, dtype=np.float32).reshape(2, 4) - 3


def _doubler_input(grpcclient: Any, rows: int = 2, width: int = 4) -> Any:
    x = np.arange(rows * width, dtype=np.float32).reshape(rows, width) - 3
    infer_input = grpcclient.InferInput("x", [rows, width], "FP32")
    infer_input.set_data_from_numpy(x)
    return infer_input


def sync_client_reads_health_and_readiness(url: str) -> None:
    """The sync client sees the server live and ready, and which models are ready."""
    import tritonclient.grpc as grpcclient

    with grpcclient.InferenceServerClient(url) as client:
        assert client.is_server_live()
        assert client.is_server_ready()
        assert client.is_model_ready("doubler")
        assert client.is_model_ready("doubler", "1")
        assert not client.is_model_ready("doubler", "7")
        assert not client.is_model_ready("nope")


def sync_client_reads_server_and_model_metadata(url: str) -> None:
    """Server metadata carries the name, version and extensions; model metadata the tensors."""
    import tritonclient.grpc as grpcclient

    with grpcclient.InferenceServerClient(url) as client:
        server = client.get_server_metadata()
        assert server.name == "sovereign-edge-accel"
        assert "region=kr-seoul" in server.extensions
        assert "binary_tensor_data" in server.extensions
        as_json = client.get_server_metadata(as_json=True)
        assert as_json["name"] == "sovereign-edge-accel"
        model = client.get_model_metadata("doubler")
        assert list(model.versions) == ["1", "2"]
        assert [(t.name, t.datatype, list(t.shape)) for t in model.inputs] == [("x", "FP32", [-1, 4])]
        assert [(t.name, t.datatype) for t in model.outputs] == [("y", "FP32"), ("positive", "BOOL")]
        model_json = client.get_model_metadata("doubler", "1", as_json=True)
        assert model_json["inputs"][0]["shape"] == ["-1", "4"]


def sync_client_infers_with_numpy_in_and_out(url: str) -> None:
    """infer() sends NumPy inputs raw and as_numpy() reads every output back exactly."""
    import tritonclient.grpc as grpcclient

    with grpcclient.InferenceServerClient(url) as client:
        result = client.infer("doubler", [_doubler_input(grpcclient)], request_id="r-1")
        np.testing.assert_array_equal(result.as_numpy("y"), X * 2)
        positive = result.as_numpy("positive")
        assert positive.dtype == np.bool_ and positive.tolist() == (X > 0).tolist()
        response = result.get_response()
        assert (response.id, response.model_name, response.model_version) == ("r-1", "doubler", "2")
        older = client.infer("doubler", [_doubler_input(grpcclient)], model_version="1")
        assert older.get_response().model_version == "1"


def sync_client_gets_only_the_requested_outputs(url: str) -> None:
    """Requested outputs limit the response to the outputs named."""
    import tritonclient.grpc as grpcclient

    with grpcclient.InferenceServerClient(url) as client:
        outputs = [grpcclient.InferRequestedOutput("positive")]
        result = client.infer("doubler", [_doubler_input(grpcclient)], outputs=outputs)
        assert result.as_numpy("y") is None
        assert result.as_numpy("positive").tolist() == (X > 0).tolist()


def sync_client_sends_priority_and_timeout(url: str) -> None:
    """priority (uint64_param) and timeout (microseconds) reach the server; a priority beyond the
    model's levels is refused with the limit named."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    with grpcclient.InferenceServerClient(url) as client:
        result = client.infer("doubler", [_doubler_input(grpcclient)], priority=1, timeout=5_000_000)
        np.testing.assert_array_equal(result.as_numpy("y"), X * 2)
        try:
            client.infer("doubler", [_doubler_input(grpcclient)], priority=2)
        except InferenceServerException as exc:
            assert exc.status() == "StatusCode.INVALID_ARGUMENT", exc.status()
            assert "priority 2 is outside 1..1" in (exc.message() or "")
        else:
            raise AssertionError("a priority beyond priority_levels must be refused")


def sync_client_sees_error_status_and_message(url: str) -> None:
    """A bad request raises InferenceServerException with the gRPC status and our message."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    with grpcclient.InferenceServerClient(url) as client:
        try:
            client.infer("nope", [_doubler_input(grpcclient)])
        except InferenceServerException as exc:
            assert exc.status() == "StatusCode.NOT_FOUND", exc.status()
            assert "unknown model 'nope'" in (exc.message() or "")
        else:
            raise AssertionError("an unknown model must be refused")
        try:
            client.infer("doubler", [_doubler_input(grpcclient, width=3)])
        except InferenceServerException as exc:
            assert exc.status() == "StatusCode.INVALID_ARGUMENT", exc.status()
            assert "input 'x' must have shape [-1, 4]" in (exc.message() or "")
        else:
            raise AssertionError("a wrong shape must be refused")


def sync_client_streams_and_gets_errors_through_the_callback(url: str) -> None:
    """start_stream/async_stream_infer: every request is answered once, by id, the bad one as an
    error through the callback, and the stream keeps serving after it."""
    import tritonclient.grpc as grpcclient

    answers: queue.Queue[tuple[Any, Any]] = queue.Queue()

    def callback(result: Any, error: Any) -> None:
        answers.put((result, error))

    with grpcclient.InferenceServerClient(url) as client:
        client.start_stream(callback=callback)
        try:
            for i in range(5):
                name = "nope" if i == 2 else "doubler"
                client.async_stream_infer(name, [_doubler_input(grpcclient)], request_id=f"s-{i}")
        finally:
            client.stop_stream()
    received = [answers.get(timeout=10) for _ in range(5)]
    assert answers.empty()
    errors = [error for _, error in received if error is not None]
    assert len(errors) == 1 and "unknown model 'nope'" in errors[0].message(), errors
    ok = {result.get_response().id: result for result, error in received if error is None}
    assert sorted(ok) == ["s-0", "s-1", "s-3", "s-4"]
    for result in ok.values():
        np.testing.assert_array_equal(result.as_numpy("y"), X * 2)


def asyncio_client_reads_health_and_infers(url: str) -> None:
    """The asyncio client checks health, reads metadata and infers."""
    import tritonclient.grpc as grpcclient
    import tritonclient.grpc.aio as aioclient

    async def run() -> None:
        async with aioclient.InferenceServerClient(url) as client:
            assert await client.is_server_live()
            assert await client.is_server_ready()
            assert await client.is_model_ready("doubler")
            meta = await client.get_model_metadata("doubler")
            assert meta.name == "doubler"
            results = await asyncio.gather(
                *(client.infer("doubler", [_doubler_input(grpcclient)], request_id=str(i)) for i in range(8))
            )
            for result in results:
                np.testing.assert_array_equal(result.as_numpy("y"), X * 2)

    asyncio.run(run())


def asyncio_client_streams_with_errors_in_band(url: str) -> None:
    """stream_infer yields (result, error) per request; the bad request's error comes in band."""
    import tritonclient.grpc as grpcclient
    import tritonclient.grpc.aio as aioclient

    async def requests() -> AsyncIterator[dict[str, Any]]:
        for i in range(6):
            yield {
                "model_name": "doubler",
                "inputs": [_doubler_input(grpcclient, width=3 if i == 4 else 4)],
                "request_id": f"a-{i}",
            }

    async def run() -> None:
        async with aioclient.InferenceServerClient(url) as client:
            received = []
            async for result, error in client.stream_infer(requests()):
                received.append((result, error))
        assert len(received) == 6
        errors = [error for _, error in received if error is not None]
        assert len(errors) == 1 and "must have shape [-1, 4]" in errors[0].message(), errors
        ids = sorted(result.get_response().id for result, error in received if error is None)
        assert ids == ["a-0", "a-1", "a-2", "a-3", "a-5"]

    asyncio.run(run())


def sync_client_reads_the_model_config(url: str) -> None:
    """get_model_config gives what tools read: batching limit, tensors without the batch dim."""
    import tritonclient.grpc as grpcclient
    from tritonclient.grpc import model_config_pb2 as mc

    with grpcclient.InferenceServerClient(url) as client:
        config = client.get_model_config("doubler").config
        assert (config.name, config.platform, config.backend) == ("doubler", "onnxruntime_onnx", "onnxruntime")
        assert config.max_batch_size == 64
        assert [(i.name, i.data_type, list(i.dims)) for i in config.input] == [("x", mc.TYPE_FP32, [4])]
        assert [(o.name, o.data_type) for o in config.output] == [("y", mc.TYPE_FP32), ("positive", mc.TYPE_BOOL)]
        assert config.WhichOneof("scheduling_choice") == "dynamic_batching"
        assert config.dynamic_batching.max_queue_delay_microseconds == 500
        assert config.version_policy.latest.num_versions == 2
        as_json = client.get_model_config("doubler", "1", as_json=True)
        assert as_json["config"]["input"][0]["data_type"] == "TYPE_FP32"


def sync_client_reads_inference_statistics(url: str) -> None:
    """get_inference_statistics counts rows, executions, successes and failures per version."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    with grpcclient.InferenceServerClient(url) as client:
        before = client.get_inference_statistics("doubler", "1").model_stats[0]
        for _ in range(3):
            client.infer("doubler", [_doubler_input(grpcclient)], model_version="1")
        try:
            client.infer("doubler", [_doubler_input(grpcclient, width=3)], model_version="1")
        except InferenceServerException:
            pass
        after = client.get_inference_statistics("doubler", "1").model_stats[0]
        assert (after.name, after.version) == ("doubler", "1")
        assert after.inference_count - before.inference_count == 6
        assert 1 <= after.execution_count - before.execution_count <= 3
        stats, old = after.inference_stats, before.inference_stats
        assert stats.success.count - old.success.count == 3 and stats.success.ns > old.success.ns
        assert stats.fail.count - old.fail.count == 1
        assert stats.queue.count - old.queue.count == 3
        assert stats.compute_infer.count - old.compute_infer.count == 3
        assert after.last_inference > 0
        everything = client.get_inference_statistics(as_json=True)
        assert {(m["name"], m["version"]) for m in everything["model_stats"]} >= {("doubler", "1"), ("doubler", "2")}


def sync_client_loads_and_unloads_through_the_repository(url: str) -> None:
    """The repository index lists models; unload_model and load_model change what is ready."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    with grpcclient.InferenceServerClient(url) as client:
        index = client.get_model_repository_index()
        assert {(m.name, m.version, m.state) for m in index.models} >= {
            ("doubler", "1", "READY"), ("doubler", "2", "READY"), ("spare", "1", "READY")
        }
        client.unload_model("spare")
        assert not client.is_model_ready("spare")
        unloaded = [m for m in client.get_model_repository_index().models if m.name == "spare"]
        assert [(m.state, m.reason) for m in unloaded] == [("UNAVAILABLE", "unloaded")]
        client.load_model("spare")
        assert client.is_model_ready("spare")
        client.load_model("spare")  # a reload of a served model
        result = client.infer("spare", [_doubler_input(grpcclient)])
        np.testing.assert_array_equal(result.as_numpy("y"), X * 2)
        try:
            client.load_model("spare", config='{"max_batch_size": 8}')
        except InferenceServerException as exc:
            assert exc.status() == "StatusCode.UNIMPLEMENTED", exc.status()
            assert "load parameter 'config'" in (exc.message() or "")
        else:
            raise AssertionError("a config override must be refused")


def asyncio_client_reads_config_statistics_and_index(url: str) -> None:
    """The asyncio client reads the same configuration, statistics and index."""
    import tritonclient.grpc.aio as aioclient

    async def run() -> None:
        async with aioclient.InferenceServerClient(url) as client:
            config = await client.get_model_config("doubler")
            assert config.config.max_batch_size == 64
            stats = await client.get_inference_statistics("doubler")
            assert [m.version for m in stats.model_stats] == ["1", "2"]
            index = await client.get_model_repository_index()
            assert any(m.name == "doubler" for m in index.models)

    asyncio.run(run())


SCENARIOS: dict[str, Callable[[str], None]] = {
    f.__name__: f
    for f in (
        sync_client_reads_health_and_readiness,
        sync_client_reads_server_and_model_metadata,
        sync_client_infers_with_numpy_in_and_out,
        sync_client_gets_only_the_requested_outputs,
        sync_client_sees_error_status_and_message,
        sync_client_sends_priority_and_timeout,
        sync_client_streams_and_gets_errors_through_the_callback,
        asyncio_client_reads_health_and_infers,
        asyncio_client_streams_with_errors_in_band,
        sync_client_reads_the_model_config,
        sync_client_reads_inference_statistics,
        sync_client_loads_and_unloads_through_the_repository,
        asyncio_client_reads_config_statistics_and_index,
    )
}


def describe(full_names: list[str]) -> dict[str, dict[str, Any]]:
    """Triton's own descriptors of the named messages (field name -> [number, type, repeated])
    and enums (value name -> number)."""
    from tritonclient.grpc import service_pb2  # imports model_config_pb2 into the same pool

    pool = service_pb2.DESCRIPTOR.pool
    described: dict[str, dict[str, Any]] = {}
    for full_name in full_names:
        try:
            message = pool.FindMessageTypeByName(full_name)
        except KeyError:
            enum = pool.FindEnumTypeByName(full_name)
            described[full_name] = {v.name: v.number for v in enum.values}
        else:
            described[full_name] = {f.name: [f.number, f.type, f.is_repeated] for f in message.fields}
    return described


def main(argv: list[str]) -> int:
    if argv[0] == "--describe":
        print(json.dumps(describe(argv[1:])))
        return 0
    url, names = argv[0], argv[1:] or list(SCENARIOS)
    report: dict[str, str | None] = {}
    for name in names:
        try:
            SCENARIOS[name](url)
        except Exception:
            report[name] = traceback.format_exc()
        else:
            report[name] = None
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
