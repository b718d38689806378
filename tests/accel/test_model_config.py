"""config.json: Triton-like version policies, declared tensors, pipeline steps and backend-specific
keys, every mistake refused with the file and the field named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accel.errors import ModelConfigError
from accel.model import TensorSpec
from accel.model_config import ModelConfig, VersionPolicy, read_config


def _config(tmp_path: Path, body: dict[str, object]) -> ModelConfig:
    (tmp_path / "config.json").write_text(json.dumps(body))
    return read_config(tmp_path)


def _refused(tmp_path: Path, body: dict[str, object], message: str) -> None:
    with pytest.raises(ModelConfigError, match=message) as caught:
        _config(tmp_path, body)
    assert str(caught.value).startswith(f"{tmp_path / 'config.json'}: ")


@pytest.mark.parametrize(
    ("body", "on_disk", "served"),
    [
        ({}, [1, 2, 3], [3]),
        ({"latest_versions": 2}, [1, 2, 3], [2, 3]),
        ({"version_policy": {"latest": {"num_versions": 2}}}, [1, 2, 3], [2, 3]),
        ({"version_policy": {"latest": {"num_versions": 5}}}, [1, 2, 3], [1, 2, 3]),
        ({"version_policy": {"all": {}}}, [3, 1, 2], [1, 2, 3]),
        ({"version_policy": {"specific": {"versions": [3, 1]}}}, [1, 2, 3], [1, 3]),
    ],
    ids=["default-newest", "latest_versions-shorthand", "latest", "latest-more-than-on-disk", "all", "specific"],
)
def test_each_version_policy_selects_its_versions(
    tmp_path: Path, body: dict[str, object], on_disk: list[int], served: list[int]
) -> None:
    config = _config(tmp_path, body)
    assert config.effective_version_policy().select(on_disk, tmp_path / "config.json") == served


def test_a_missing_specific_version_names_the_file_the_field_and_the_versions_on_disk(tmp_path: Path) -> None:
    policy = VersionPolicy.model_validate({"specific": {"versions": [2, 7, 9]}})
    with pytest.raises(ModelConfigError) as caught:
        policy.select([1, 2, 3], tmp_path / "config.json")
    assert str(caught.value).startswith(f"{tmp_path / 'config.json'}: version_policy.specific.versions: ")
    assert "version(s) [7, 9] have no directory" in str(caught.value)
    assert "versions on disk: [1, 2, 3]" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"latest_versions": 2, "version_policy": {"all": {}}}, "set latest_versions or version_policy, not both"),
        ({"version_policy": {}}, "version_policy: set exactly one of 'latest', 'all', 'specific'; got none"),
        ({"version_policy": {"all": {}, "latest": {}}}, r"version_policy: set exactly one .* got \['latest', 'all'\]"),
        ({"version_policy": {"newest": {}}}, "version_policy.newest: Extra inputs are not permitted"),
        ({"version_policy": {"latest": {"num_versions": 0}}}, "version_policy.latest.num_versions: Input should be greater"),
        ({"version_policy": {"specific": {"versions": []}}}, "version_policy.specific.versions: List should have at least 1"),
        ({"version_policy": {"specific": {"versions": [1, 1]}}}, r"version_policy.specific.versions: versions are listed more than once: \[1, 1\]"),
        ({"version_policy": {"specific": {"versions": [-1]}}}, "version_policy.specific.versions: versions are directory numbers"),
        ({"latest_versions": 0}, "latest_versions: Input should be greater than or equal to 1"),
    ],
    ids=["both", "empty", "two", "unknown", "latest-zero", "specific-empty", "specific-repeated", "specific-negative", "shorthand-zero"],
)
def test_a_bad_version_policy_names_the_field(tmp_path: Path, body: dict[str, object], message: str) -> None:
    _refused(tmp_path, body, message)


def test_the_platform_follows_the_backend_unless_set(tmp_path: Path) -> None:
    assert _config(tmp_path, {}).platform == "onnxruntime_onnx"
    assert _config(tmp_path, {"backend": "pipeline", "steps": [{"step": "onnx"}]}).platform == "pipeline"
    rebel = {"backend": "rebel", "inputs": [{"name": "x", "datatype": "FP32", "dims": [4]}],
             "outputs": [{"name": "y", "datatype": "FP32", "dims": [4]}]}
    assert _config(tmp_path, rebel).platform == "rebel_rbln"
    assert _config(tmp_path, {**rebel, "platform": "custom"}).platform == "custom"


def test_declared_tensors_leave_out_the_batch_dimension(tmp_path: Path) -> None:
    config = _config(tmp_path, {
        "backend": "rebel",
        "inputs": [{"name": "x", "datatype": "FP32", "dims": [4, -1]}],
        "outputs": [{"name": "label", "datatype": "INT64", "dims": []}],
    })
    assert config.inputs is not None and config.outputs is not None
    assert [t.spec() for t in config.inputs + config.outputs] == [
        TensorSpec("x", "FP32", (-1, 4, -1)), TensorSpec("label", "INT64", (-1,))
    ]
    assert config.rebel is None


_X = {"name": "x", "datatype": "FP32", "dims": [4]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"backend": "tensorrt"}, "backend: Input should be 'onnxruntime', 'rebel' or 'pipeline'"),
        ({"backend": "rebel", "outputs": [_X]}, "inputs: required for backend 'rebel'"),
        ({"backend": "rebel", "inputs": [_X]}, "outputs: required for backend 'rebel'"),
        ({"backend": "rebel", "inputs": [_X], "outputs": [_X], "execution_providers": []},
         "execution_providers: only for backend 'onnxruntime' or 'pipeline', not 'rebel'"),
        ({"rebel": {"device": 0}}, "rebel: only for backend 'rebel', not 'onnxruntime'"),
        ({"backend": "rebel", "inputs": [_X], "outputs": [_X], "rebel": {"compiled_batch_size": 0}},
         "rebel.compiled_batch_size: Input should be greater than or equal to 1"),
        ({"steps": [{"step": "onnx"}]}, "steps: only for backend 'pipeline', not 'onnxruntime'"),
        ({"backend": "pipeline"}, "steps: required for backend 'pipeline'"),
        ({"backend": "pipeline", "steps": []}, "steps: required for backend 'pipeline'"),
        ({"inputs": [{"name": "x", "datatype": "FLOAT", "dims": [4]}]}, "inputs.0.datatype: 'FLOAT' is not a protocol datatype"),
        ({"inputs": [{"name": "x", "datatype": "FP32", "dims": [-2]}]}, r"inputs.0.dims: dims are sizes, or -1 for any size; got \[-2\]"),
        ({"inputs": [{"name": "x", "datatype": "FP32"}]}, "inputs.0.dims: Field required"),
        ({"outputs": [_X, _X]}, r"outputs: tensor names are repeated: \['x', 'x'\]"),
    ],
    ids=[
        "unknown-backend", "rebel-no-inputs", "rebel-no-outputs", "providers-on-rebel", "rebel-on-onnx",
        "rebel-batch-zero", "steps-on-onnx", "pipeline-no-steps", "pipeline-empty-steps", "bad-datatype",
        "bad-dims", "no-dims", "repeated-names",
    ],
)
def test_backend_keys_and_tensors_are_checked_by_field(tmp_path: Path, body: dict[str, object], message: str) -> None:
    _refused(tmp_path, body, message)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"step": "softmax"}, r"steps.0: step 'softmax' is not a known step; known: \['argmax_with_confidence', 'das_features', 'onnx', 'top_k'\]"),
        ({"model": "model.onnx"}, "steps.0.step: Field required"),
        ({"step": "top_k"}, "steps.0: option 'k': Field required"),
        ({"step": "top_k", "k": 0}, "steps.0: option 'k': Input should be greater than or equal to 1"),
        ({"step": "onnx", "file": "model.onnx"}, "steps.0: option 'file': Extra inputs are not permitted"),
        ({"step": "argmax_with_confidence", "scores": "odds"}, "steps.0: option 'scores': Input should be 'probabilities' or 'logits'"),
        ({"step": "onnx", "inputs": ["features"]}, "steps.0.inputs: Input should be an object"),
    ],
    ids=["unknown-kind", "no-kind", "missing-option", "bad-option", "unknown-option", "bad-choice", "bad-bindings"],
)
def test_a_bad_step_names_its_position_and_option(tmp_path: Path, step: dict[str, object], message: str) -> None:
    _refused(tmp_path, {"backend": "pipeline", "steps": [step]}, message)


def test_a_step_keeps_its_bindings_and_options(tmp_path: Path) -> None:
    config = _config(tmp_path, {"backend": "pipeline", "steps": [
        {"step": "top_k", "k": 3, "scores": "logits", "inputs": {"scores": "logits"}, "outputs": {"values": "p"}},
    ]})
    assert config.steps is not None
    [step] = config.steps
    assert (step.step, step.inputs, step.outputs, step.options) == (
        "top_k", {"scores": "logits"}, {"values": "p"}, {"k": 3, "scores": "logits"}
    )


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"max_batch_size": ')
    with pytest.raises(ModelConfigError, match=r"config.json: Invalid JSON"):
        read_config(tmp_path)
