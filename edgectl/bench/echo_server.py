"""The bare gRPC ceiling for `edge bench accel`: a grpc.aio server that answers ModelInfer and
ModelStreamInfer by echoing each request's tensors back, with no model and no NumPy.

It rewrites the request's wire bytes into a response without a protobuf library: the request's
`inputs` (field 5) have the same field numbers as a response's `outputs` (field 5), so they are
copied as they are; `raw_input_contents` (7) becomes `raw_output_contents` (6); model name,
version and id (1-3) are kept; request parameters (4) and requested outputs (6) are dropped. What
is left is the cost of gRPC and of the event loop, the floor under any Python server.

Run as `python -m edgectl.bench.echo_server --port 0 --ready-file FILE`; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

SERVICE = "inference.GRPCInferenceService"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""As the accelerator's default `ACCEL_MAX_MESSAGE_BYTES`, so both accept the same batches."""

_KEEP = {1, 2, 3, 5}
_RAW_INPUT_CONTENTS, _RAW_OUTPUT_CONTENTS = 7, 6
_STREAM_INFER_RESPONSE = 2
"""`ModelStreamInferResponse.infer_response`."""
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


class MalformedMessage(ValueError):
    """The request bytes are not a protobuf message."""


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while offset < len(data) and shift < 64:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7
    raise MalformedMessage("truncated or over-long varint")


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def echo_response(request: bytes) -> bytes:
    """The ModelInferResponse bytes that echo a ModelInferRequest's tensors (see the module doc)."""
    parts: list[bytes] = []
    offset = 0
    size = len(request)
    while offset < size:
        start = offset
        key, offset = _read_varint(request, offset)
        field, wire = key >> 3, key & 7
        if wire == _LEN:
            length, offset = _read_varint(request, offset)
            end = offset + length
            if end > size:
                raise MalformedMessage(f"field {field} runs past the end of the message")
            if field in _KEEP:
                parts.append(request[start:end])
            elif field == _RAW_INPUT_CONTENTS:
                parts.append(_varint(_RAW_OUTPUT_CONTENTS << 3 | _LEN) + _varint(length))
                parts.append(request[offset:end])
            offset = end
        elif wire == _VARINT:
            _, offset = _read_varint(request, offset)
        elif wire in (_I64, _I32):
            offset += 8 if wire == _I64 else 4
        else:
            raise MalformedMessage(f"field {field} has unsupported wire type {wire}")
    return b"".join(parts)


async def _model_infer(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    try:
        return echo_response(request)
    except MalformedMessage as exc:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        raise  # abort raises; this line only tells the type checker so


async def _model_stream_infer(
    requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
) -> AsyncIterator[bytes]:
    async for request in requests:
        response = echo_response(request)
        yield _varint(_STREAM_INFER_RESPONSE << 3 | _LEN) + _varint(len(response)) + response


def echo_handler() -> grpc.GenericRpcHandler:
    """ModelInfer and ModelStreamInfer on raw bytes (no serializers: the handlers see the wire)."""
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "ModelInfer": grpc.unary_unary_rpc_method_handler(_model_infer),
            "ModelStreamInfer": grpc.stream_stream_rpc_method_handler(_model_stream_infer),
        },
    )


async def serve(host: str, port: int, ready_file: str | None) -> None:
    """Serve until SIGTERM or SIGINT; write the bound port to `ready_file` once serving."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ]
    )
    server.add_generic_rpc_handlers((echo_handler(),))
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        if ready_file:
            Path(ready_file).write_text(str(bound))
        await stop.wait()
    finally:
        await server.stop(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument("--ready-file", help="file that receives the bound port once serving")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.ready_file))


if __name__ == "__main__":
    main()
