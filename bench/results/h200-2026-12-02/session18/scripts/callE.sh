#!/usr/bin/env bash
# session 18 call E: all of tests/gpu with call C's tuned Llama-3.1-8B bundles (bf16, fused, fp8)
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/e; mkdir -p $R; T=.gpu/s18/B/tune
AOTGEMM_FP8_DECODE_DIR=.gpu/s16/fp8 AOTGEMM_TEST_FP8_BUNDLE=$T/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$T/llama-3.1-8b-fused.agb AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b.agb \
  timeout 280 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL" $R/tests_gpu.log | tail -8
cp $R/tests_gpu.log $OUT/
