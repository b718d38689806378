"""The accelerator service: an Open Inference Protocol server in front of ONNX Runtime and NPUs."""
