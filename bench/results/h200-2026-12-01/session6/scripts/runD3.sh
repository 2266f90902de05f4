#!/usr/bin/env bash
# GPU call D3 (session 6): bench run 2 of the four bundles tuned in D2, then tests/gpu with the tuned
# Llama bundles (plain, fused) and the tuned fp8 bundle.
set -uo pipefail
[ -d /tmp/rt ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s6f; mkdir -p $R/bench; T=.gpu/s6/d/tune; T2=.gpu/s6/e/tune
date -u
for n in llama-3.1-8b-fp8 qwen2.5-32b-tp4 llama-3.1-70b-tp8 qwen3-4b-tp1; do
  timeout 45 python3 -m aotgemm.cli bench $T2/$n.agb -o $R/bench/run2 > $R/bench/$n.run2.log 2>&1
  echo "bench run2 $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.run2.log
done
tar czf $OUT/s6f.tgz -C $R .
AOTGEMM_TEST_FP8_BUNDLE=$T2/llama-3.1-8b-fp8.agb AOTGEMM_TEST_FUSED_BUNDLE=$T/llama-3.1-8b-fused-q.agb \
  AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b-q.agb timeout 330 python3 -m pytest -q -s -p no:cacheprovider -rs tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -15
tar czf $OUT/s6f.tgz -C $R .
date -u
