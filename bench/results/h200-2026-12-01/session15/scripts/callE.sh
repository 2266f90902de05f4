#!/usr/bin/env bash
# GPU call E (session 15): Qwen2.5-32B TP4 and Qwen3-4B bf16, rebuilt with CUDA-core M = 1 designs for the K that
# the fixed designs could not split (decode_designs._SIMT_SM90's session-15 rows): tune, then bench twice.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,power.limit,temperature.gpu --format=csv,noheader; date -u
B=.gpu/s15/b bash .gpu/s15/tune_bench.sh /tmp/e $OUT/e.tgz qwen2.5-32b-tp4 qwen3-4b-tp1
date -u
