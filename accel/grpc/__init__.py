"""The gRPC transport of the accelerator: servicer, protobuf converters and status mapping."""
