#!/usr/bin/env bash
# GPU call D (session 13): the tuner's screening now also keeps the fastest back to back of the candidates that tie
# the best as in a model (tune._screen). The four bf16 bundles and the fused one, and the Llama-3.1-8B fp8
# per-channel and per-token bundles, tuned and benched twice.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
bash .gpu/s13/scripts/tune_bench.sh /tmp/d $OUT/d.tgz qwen3-4b-tp1 llama-3.1-8b-q qwen2.5-32b-tp4 llama-3.1-70b-tp8 \
  llama-3.1-8b-fused-q llama-3.1-8b-fp8-row llama-3.1-8b-fp8-rowwise
date -u
