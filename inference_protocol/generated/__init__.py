"""Generated Open Inference Protocol code (protos/grpc_predict_v2.proto); regenerate with scripts/gen_protos.py."""
