#!/usr/bin/env bash
# GPU call G (session 15): Qwen3-4B fp8 per tensor, rebuilt with the e4m3 CUDA-core M = 1 designs of the divisor
# rule (call F): tune, then bench twice.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
B=.gpu/s15/b bash .gpu/s15/tune_bench.sh /tmp/g $OUT/g.tgz qwen3-4b-tp1-fp8
date -u
