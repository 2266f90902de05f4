#!/usr/bin/env bash
# session 24 call G: tests/gpu at HEAD (976ed23: the `late` design key and releases_early; every design builds make
# compiles to the same PTX as at f07cca1) with session 23's tuned Llama-3.1-8B bf16 and fused bundles (.gpu/s23/t),
# session 21's tuned fp8 bundle (.gpu/s21/c) and session 20's e4m3 decode kernels (.gpu/s20/fp8).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
git log --oneline -1 2>/dev/null
AOTGEMM_FP8_DECODE_DIR=.gpu/s20/fp8 AOTGEMM_TEST_FP8_BUNDLE=.gpu/s21/c/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=.gpu/s23/t/llama-3.1-8b-fused.agb AOTGEMM_TEST_BUNDLE=.gpu/s23/t/llama-3.1-8b.agb \
  timeout 290 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $OUT/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error" $OUT/tests_gpu.log | tail -8; date -u
