#!/usr/bin/env bash
# GPU call C (session 13): the tuner now asks a win to clear half cuBLAS's spread where that is wider than the 3%
# margin (tune.margin_over). The four per-tensor fp8 bundles, and the bf16 Llama-3.1-70B TP8 and Qwen3-4B ones
# (call B's large-M wins inside the spread), tuned and benched twice.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
bash .gpu/s13/scripts/tune_bench.sh /tmp/c $OUT/c.tgz llama-3.1-70b-tp8 qwen3-4b-tp1 llama-3.1-8b-fp8 \
  qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8
date -u
