#!/usr/bin/env bash
# GPU call B (session 10): per-token fp8 (bench/fp8_rowwise_check.sh) on the untuned rowwise Llama-3.1-8B fp8 bundle.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
bash bench/fp8_rowwise_check.sh .gpu/b/llama-3.1-8b-fp8-rowwise.agb $OUT/rowwise
