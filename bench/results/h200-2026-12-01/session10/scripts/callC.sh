#!/usr/bin/env bash
# GPU call C (session 10): the other three models' per-token fp8 bundles tuned and benched twice against
# torch._scaled_mm's row-wise form; the fp8 stock-path tests with the row-wise form; the AOTInductor fp8 test
# with call B's tuned Llama-3.1-8B row-wise bundle (per-token quantisation, _scaled_mm rewritten to the shim).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=$OUT/rowwise; mkdir -p $R
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u; git log --oneline | head -1
AOTGEMM_TEST_FP8_BUNDLE=.gpu/b/llama-3.1-8b-fp8-rowwise.tuned.agb timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs \
  tests/gpu/test_fp8_aoti_gpu.py tests/gpu/test_fp8_stock_gpu.py > $R/tests_fp8.log 2>&1
echo "tests rc=$?"; grep -E "M=|passed|failed|Error" $R/tests_fp8.log | grep -v "^\S*gpu.py::" | tail -12
for s in qwen2.5-32b-tp4 llama-3.1-70b-tp8 qwen3-4b-tp1; do
  timeout 90 python3 -m aotgemm.cli tune .gpu/b/$s-fp8-rowwise.agb -o $R/$s.tuned.agb > $R/$s.tune.log 2>&1
  echo "tune $s rc=$?"; tail -n 1 $R/$s.tune.log
  for run in run1 run2; do
    timeout 50 python3 -m aotgemm.cli bench $R/$s.tuned.agb -o $R/$run > $R/$s.$run.log 2>&1
    echo "bench $s $run rc=$?"; grep -E "^geomean" -A2 $R/$s.$run.log
  done
done
cd $R && tar czf $OUT/rowwise.tgz --exclude='*.tgz' . ; date -u
