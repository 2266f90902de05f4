#!/usr/bin/env bash
# GPU call F (session 8): the fp8 tests of tests/gpu with the fp8 bundle tuned in call E3 (the committed, promoting TMA
# kernels): the AOTInductor package served from it, the stock path, and every kernel of it called directly.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s8f; mkdir -p $R; F=.gpu/s8/llama-3.1-8b-fp8-e3.agb
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u; git log --oneline | head -1
AOTGEMM_TEST_FP8_BUNDLE=$F AOTGEMM_TEST_BUNDLE=$F timeout 200 python3 -m pytest -q -s -p no:cacheprovider -rs \
  tests/gpu/test_fp8_aoti_gpu.py tests/gpu/test_fp8_stock_gpu.py tests/gpu/test_runtime_gpu.py > $R/tests_gpu_fp8.log 2>&1
echo "fp8 tests rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error|SKIP" $R/tests_gpu_fp8.log | tail -10
cp $R/tests_gpu_fp8.log $OUT/
date -u
