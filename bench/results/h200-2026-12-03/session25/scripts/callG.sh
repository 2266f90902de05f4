#!/usr/bin/env bash
# session 25 call G: tests/gpu at 5ee9ec2 with the three fp8 bundles tuned in calls E and F (.gpu/s25/t): every kernel
# of each run directly at every M it serves (test_runtime_gpu.py), and the fp8 AOTInductor test with Llama-3.1-8B's.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=$OUT/g; mkdir -p $R
for b in qwen3-4b-tp1-fp8 llama-3.1-8b-fp8 llama-3.1-70b-tp8-fp8; do
  AOTGEMM_TEST_BUNDLE=.gpu/s25/t/$b.agb timeout 100 python3 -m pytest -q -s -p no:cacheprovider -rs \
    tests/gpu/test_runtime_gpu.py > $R/runtime_$b.log 2>&1
  echo "$b rc=$?"; grep -E "kernel runs|passed|failed|Error" $R/runtime_$b.log | tail -3
done
AOTGEMM_TEST_FP8_BUNDLE=.gpu/s25/t/llama-3.1-8b-fp8.agb timeout 200 python3 -m pytest -q -s -p no:cacheprovider -rs \
  tests/gpu/test_fp8_aoti_gpu.py > $R/fp8_aoti.log 2>&1
echo "fp8 aoti rc=$?"; grep -E "passed|failed|Error" $R/fp8_aoti.log | tail -3; date -u
