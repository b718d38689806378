"""ModelInfer requests decode into domain requests, with the scheduling parameters Triton's clients
send (`priority` as uint64_param, `timeout` in microseconds) checked by name and limit."""

from __future__ import annotations

import numpy as np
import pytest

from accel.errors import InvalidInput
from accel.grpc.convert import request_from_proto
from inference_protocol.generated import grpc_predict_v2_pb2 as pb


def _request(**parameters: pb.InferParameter) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name="doubler", id="r", parameters=parameters)
    request.inputs.add(name="x", datatype="FP32", shape=[1, 4])
    request.raw_input_contents.append(np.ones((1, 4), dtype=np.float32).tobytes())
    return request


def test_no_scheduling_parameters_take_the_model_defaults() -> None:
    decoded = request_from_proto(_request())
    assert (decoded.priority, decoded.timeout_us) == (0, None)


@pytest.mark.parametrize(
    "parameter", [pb.InferParameter(uint64_param=2), pb.InferParameter(int64_param=2)], ids=["uint64", "int64"]
)
def test_priority_and_timeout_are_read_from_either_integer_field(parameter: pb.InferParameter) -> None:
    decoded = request_from_proto(_request(priority=parameter, timeout=pb.InferParameter(int64_param=1500)))
    assert (decoded.priority, decoded.timeout_us) == (2, 1500)
    assert decoded.parameters["priority"] == 2


def test_a_zero_timeout_means_none() -> None:
    assert request_from_proto(_request(timeout=pb.InferParameter(uint64_param=0))).timeout_us is None


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"priority": pb.InferParameter(string_param="high")}, r"'priority' \(1 is the highest\) must be an integer .* got str 'high'"),
        ({"priority": pb.InferParameter(bool_param=True)}, r"'priority' .* must be an integer .* got bool True"),
        ({"priority": pb.InferParameter(int64_param=-1)}, r"'priority' .* must be >= 0, got -1"),
        ({"timeout": pb.InferParameter(double_param=1.5)}, r"'timeout' \(microseconds the request may wait\) must be an integer"),
        ({"timeout": pb.InferParameter(int64_param=-5)}, r"'timeout' .* must be >= 0, got -5"),
    ],
    ids=["priority-string", "priority-bool", "priority-negative", "timeout-double", "timeout-negative"],
)
def test_bad_scheduling_parameters_name_the_parameter_and_the_rule(
    parameters: dict[str, pb.InferParameter], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        request_from_proto(_request(**parameters))
