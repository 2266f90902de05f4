#!/usr/bin/env bash
# GPU call E (session 13): the tuner asks 1.01x back to back (NO_LOSS), more over a wide spread
# (tune.back_to_back_floor). The bf16 Llama-3.1-70B TP8 and Qwen3-4B bundles (call D: 0.97x and 0.988x points),
# tuned and benched twice; then the fp8 per-channel and per-token Llama-3.1-70B TP8 bundles, as time allows.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
bash .gpu/s13/scripts/tune_bench.sh /tmp/e $OUT/e.tgz llama-3.1-70b-tp8 qwen3-4b-tp1
date -u
bash .gpu/s13/scripts/tune_bench.sh /tmp/e2 $OUT/e2.tgz llama-3.1-70b-tp8-fp8-row llama-3.1-70b-tp8-fp8-rowwise
date -u
