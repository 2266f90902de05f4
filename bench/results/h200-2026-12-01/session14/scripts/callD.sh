#!/usr/bin/env bash
# GPU call D (session 14): Llama-3.1-70B TP8 and Qwen3-4B bf16 with bucket splits, tuned and benched twice; the
# per-channel and per-token fp8 bundles of Qwen2.5-32B TP4 and Qwen3-4B (not measured since sessions 10-11);
# then the AOTInductor and runtime GPU tests with call C's split-tuned Llama bundles (from /tmp/c on a warm
# machine, else carried in .gpu/s14/tuned).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.sm,clocks.mem,power.limit,temperature.gpu --format=csv,noheader; date -u
R=/tmp/d; mkdir -p $R
bash .gpu/s14/tune_bench.sh $R $OUT/d.tgz llama-3.1-70b-tp8 qwen3-4b-tp1
date -u
bash .gpu/s14/tune_bench.sh $R/fp8_row $OUT/d2.tgz qwen2.5-32b-tp4-fp8-row qwen2.5-32b-tp4-fp8-rowwise qwen3-4b-tp1-fp8-row qwen3-4b-tp1-fp8-rowwise
date -u
T=/tmp/c/tune; [ -f $T/llama-3.1-8b-q.agb ] || T=.gpu/s14/tuned
AOTGEMM_TEST_FP8_BUNDLE=.gpu/s12/t4/llama-3.1-8b-fp8.agb AOTGEMM_TEST_FUSED_BUNDLE=$T/llama-3.1-8b-fused-q.agb \
  AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b-q.agb timeout 200 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 5 \
  tests/gpu/test_aoti_gpu.py tests/gpu/test_runtime_gpu.py tests/gpu/test_epilogues_gpu.py > $R/tests_gpu.log 2>&1
echo "tests rc=$? (bundles from $T)"; grep -E "kernel runs|passed|failed|FAIL" $R/tests_gpu.log | tail -6
tar czf $OUT/d3.tgz -C $R tests_gpu.log
date -u
