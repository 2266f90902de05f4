# syntax=docker/dockerfile:1.7
#
# Bake a model's GEMM kernels into a serving image (docs/bake.md).
#
#   docker build -t llama-aotgemm .                                          # GPU-less build, H100_SXM
#   docker build --build-arg GPUS="H100_SXM H200_SXM" -t llama-aotgemm .
#   docker build --build-arg TUNED_BUNDLE=artifacts/llama-3.1-8b.agb -t llama-aotgemm .   # tuned on a GPU host
#   podman build --format docker -t llama-aotgemm .                          # the same with podman
#
# Every RUN that does work calls scripts/bake.sh (aotgemm/bake.py), the same steps CI runs in
# fresh virtual environments (tests/test_bake.py). Needs BuildKit (Docker 23+, or DOCKER_BUILDKIT=1)
# or podman/buildah (4.3/1.28 and newer). CI builds this file with podman, offline, on base images
# made from Debian packages (scripts/ci-image.sh); docs/bake.md has both modes.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
# Each stage's base (default: PYTHON_IMAGE). Another base must have python3 (3.11, with venv) and bash;
# the builder's also g++ (else apt-get installs it), the runtime's also groupadd/useradd.
ARG BUILDER_IMAGE=${PYTHON_IMAGE}
ARG RUNTIME_IMAGE=${PYTHON_IMAGE}

# --- builder: the compiler side; makes (or checks) the bundle ----------------------------------------
FROM ${BUILDER_IMAGE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# g++ links the compiled kernels into one shared library per GPU model. Its version is the one of
# the pinned base image's Debian suite (pinning a Debian revision breaks at its next security fix).
# A base image that has g++ already skips apt, and so needs no network here.
# hadolint ignore=DL3008
RUN command -v g++ >/dev/null \
 || { apt-get update \
      && apt-get install -y --no-install-recommends g++ \
      && rm -rf /var/lib/apt/lists/*; }

# The model's manifest, relative to the build context.
ARG MANIFEST=manifests/llama-3.1-8b.toml
# GPU models the image serves (space- or comma-separated names from aotgemm/gpus.py).
ARG GPUS=H100_SXM
# A bundle tuned earlier on a GPU host (a file in the build context); empty: build one here with no GPU.
ARG TUNED_BUNDLE=
ARG TOP_K=5
ARG TORCH_VERSION=2.13.0
# The builder never runs a kernel: a CPU-only torch is enough, and GBs smaller.
ARG BUILDER_TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# A directory of wheels in the build context (torch, aotgemm's dependencies with the [build] extra,
# setuptools): install everything from it, with no index and no network. Empty: from the indexes.
ARG WHEELHOUSE=

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /context
# The build context is mounted read-only, not copied: nothing of it stays in a layer.
# The pip and compile caches persist across builds (a warm rebuild compiles nothing).
RUN --mount=type=bind,target=/context \
    --mount=type=cache,target=/root/.cache/pip \
    --mount=type=cache,target=/root/.cache/aotgemm \
    sh scripts/bake.sh builder \
        --venv /opt/build-venv \
        --src /context \
        --manifest "${MANIFEST}" \
        --gpus "${GPUS}" \
        --tuned-bundle "${TUNED_BUNDLE}" \
        --top-k "${TOP_K}" \
        --torch "torch==${TORCH_VERSION}" \
        --torch-index-url "${BUILDER_TORCH_INDEX_URL}" \
        --wheelhouse "${WHEELHOUSE}" \
        --out /bake

# --- runtime: what a server needs to load the bundle; no compiler ---------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# torch for the CUDA major the kernels link against (13: the cu13 CuTe DSL backend).
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu130
# As in the builder: a directory of wheels in the build context (torch and aotgemm's dependencies).
ARG WHEELHOUSE=
# Non-empty: accept a CPU-only torch (an image that cannot serve: CI's check of the image build).
ARG ALLOW_CPU_TORCH=

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN groupadd --system --gid 10001 aotgemm \
 && useradd --system --uid 10001 --gid aotgemm --create-home --home-dir /home/aotgemm \
        --shell /usr/sbin/nologin aotgemm

# Installs aotgemm (the builder's wheel, no extras) into /opt/venv, pins apache-tvm-ffi to the
# bundle's ABI, refuses an environment that holds the compiler or cannot serve the bundle, and
# places the bundle. Only /opt/venv and /opt/aotgemm end up in the layer.
RUN --mount=type=bind,target=/context \
    --mount=type=bind,from=builder,source=/bake,target=/bake \
    --mount=type=cache,target=/root/.cache/pip \
    sh /context/scripts/bake.sh runtime \
        --venv /opt/venv \
        --package /bake/dist \
        --bundle /bake/model.agb \
        --dest /opt/aotgemm/model.agb \
        --torch "torch==${TORCH_VERSION}" \
        --torch-index-url "${TORCH_INDEX_URL}" \
        --wheelhouse "${WHEELHOUSE:+/context/${WHEELHOUSE}}" \
        ${ALLOW_CPU_TORCH:+--allow-cpu-torch}

ENV PATH=/opt/venv/bin:${PATH} \
    AOTGEMM_BUNDLE=/opt/aotgemm/model.agb \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

USER 10001:10001
WORKDIR /home/aotgemm

# Healthy (exit 0) only where the bundle is sound AND this machine can run it: the GPU model it was
# built for, a new enough driver, matching libraries. Anything else: exit 1, one line per problem.
HEALTHCHECK --interval=60s --timeout=30s --start-period=120s --retries=3 \
    CMD ["aotgemm", "verify", "--env"]

# `docker run --gpus all IMAGE` says whether this machine can use the image. A server image
# built FROM this one sets its own CMD; its `aotgemm.runtime.load()` loads $AOTGEMM_BUNDLE and
# refuses (EnvironmentMismatch / NoGpu) on a machine it was not built for.
CMD ["aotgemm", "verify", "--env"]
