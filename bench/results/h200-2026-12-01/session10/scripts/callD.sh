#!/usr/bin/env bash
# GPU call D (session 10), after two fixes found in calls A-C:
#  - torch.compile of a patched layer at an M whose bucket has no fused kernel now traces aotgemm_linear + the
#    epilogue's torch ops (Inductor fuses them as unpatched) instead of the opaque fused op: the decoder layer
#    under torch.compile, twice (call A: compiled-patched 0.970x of compiled at M = 128, 0/2 bundle hits);
#  - a per-token fp8 call at M = 1 (scale_a [1, 1], read as the scale_row form) is served by a row-wise bundle's
#    scale_rowwise kernel: the AOTInductor fp8 test and the stock-path tests with call B's tuned row-wise bundle.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=$OUT/d; mkdir -p $R
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u; git log --oneline | head -1
timeout 110 python3 -m aotgemm.cli tune .gpu/b/llama-3.1-8b-fused-q.agb -o $R/fused.tuned.agb > $R/tune.log 2>&1
echo "tune rc=$?"; tail -n 1 $R/tune.log
for run in run1 run2; do
  timeout 100 python3 bench/epilogue_block.py $R/fused.tuned.agb --compiled --no-aoti --m 1 16 128 2048 \
    --out $R/epilogue_block.$run.json > $R/epilogue_block.$run.txt 2> $R/epilogue_block.$run.log
  echo "epilogue_block $run rc=$?"; tail -n 6 $R/epilogue_block.$run.txt
done
tar czf $OUT/d.tgz -C $R .
AOTGEMM_TEST_FP8_BUNDLE=.gpu/b/llama-3.1-8b-fp8-rowwise.tuned.agb timeout 120 python3 -m pytest -q -s -p no:cacheprovider -rs \
  tests/gpu/test_fp8_aoti_gpu.py tests/gpu/test_fp8_stock_gpu.py > $R/tests_fp8.log 2>&1
echo "fp8 tests rc=$?"; grep -E "scale_rowwise M=|passed|failed" $R/tests_fp8.log | tail -6
AOTGEMM_TEST_BUNDLE=$R/fused.tuned.agb AOTGEMM_TEST_FUSED_BUNDLE=$R/fused.tuned.agb timeout 150 python3 -m pytest -q -s \
  -p no:cacheprovider -rs tests/gpu/test_runtime_gpu.py tests/gpu/test_epilogues_gpu.py > $R/tests_fused.log 2>&1
echo "fused-bundle tests rc=$?"; grep -E "kernel runs|replays|passed|failed" $R/tests_fused.log | tail -5
tar czf $OUT/d.tgz -C $R --exclude='*.agb' . ; date -u
