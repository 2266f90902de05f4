#!/usr/bin/env bash
# GPU call E (session 14): bench now runs WARMUP_ROUNDS untimed rounds before each point's trials. The split-tuned
# bundles of calls C and D (the three whose bench had points at 0.977-0.991x back to back, at M >= 2304 with a
# 10-20% spread) benched twice again; then the GPU tests that failed in call D on their expected-hit count (it
# ignored min_m), with the split-tuned Llama bundles.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.sm,clocks.mem,power.limit,temperature.gpu --format=csv,noheader; date -u
R=/tmp/e; mkdir -p $R/bench; T=.gpu/s14/tuned
for run in run1 run2; do
  for n in llama-3.1-8b-q qwen2.5-32b-tp4 llama-3.1-70b-tp8; do
    timeout 70 python3 -m aotgemm.cli bench $T/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-330; echo
  done
  tar czf $OUT/e.tgz -C $R .
done
date -u
AOTGEMM_TEST_FP8_BUNDLE=.gpu/s12/t4/llama-3.1-8b-fp8.agb AOTGEMM_TEST_FUSED_BUNDLE=$T/llama-3.1-8b-fused-q.agb \
  AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b-q.agb timeout 200 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 5 \
  tests/gpu/test_aoti_gpu.py tests/gpu/test_runtime_gpu.py > $R/tests_gpu.log 2>&1
echo "tests rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -8
tar czf $OUT/e.tgz -C $R .
date -u
