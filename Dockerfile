# syntax=docker/dockerfile:1
# The sovereign-edge image: one image for the accelerator server and every pipeline, run as
# `edge accel serve` or `edge pipeline run NAME` (the Helm chart passes those as args).
#
# Multi-arch, for Arm edge nodes and x86 test clusters:
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/sovereign-edge:TAG --push .
# The builder stage runs on the target platform (emulated when it differs from the build host),
# because the wheels it installs (grpcio, numpy, onnxruntime) and any native kernels it compiles are
# platform-specific.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
# A C compiler, for native kernels built at install time; it stays in this stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# .dockerignore lets in only what `pip install .` needs.
COPY . .
# Extras installed with the project; otlp lets EDGE_OTEL_EXPORTER=otlp export traces.
ARG EXTRAS=otlp
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install ".${EXTRAS:+[$EXTRAS]}" \
    && pip uninstall --yes pip \
    && edge --help >/dev/null

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="sovereign-edge" \
      org.opencontainers.image.description="Streaming AI for telecom edge sites: Kafka pipelines and a gRPC accelerator service." \
      org.opencontainers.image.licenses="Proprietary"
# A fixed numeric user, so Kubernetes can check runAsNonRoot without reading /etc/passwd.
RUN groupadd --system --gid 10001 edge \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin edge
COPY --from=builder /opt/venv /opt/venv
# The root file system is read-only in the chart; /tmp (an emptyDir there) is the only writable
# place, so HOME points at it and Python writes no bytecode.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    ACCEL_HOST=0.0.0.0
USER 10001:10001
WORKDIR /tmp
# gRPC inference and health, pipeline health, accelerator metrics, pipeline metrics.
EXPOSE 8001 8081 9400 9464
ENTRYPOINT ["edge"]
CMD ["--help"]
