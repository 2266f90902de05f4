#!/usr/bin/env bash
# GPU call 5 (session 12): the tuner breaks model-mode ties by the time back to back (tune._break_model_ties).
# Re-tune the four bf16 bundles and the fused one, `aotgemm bench` twice; then every kernel of call 4's and this
# call's tuned bundles called directly at every M it serves, and tests/gpu with the tuned Llama bundles.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/e; mkdir -p $R/tune $R/bench $R/kernels; B=.gpu/s12/cb; T4=.gpu/s12/t4
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
BF="llama-3.1-8b-q qwen2.5-32b-tp4 llama-3.1-70b-tp8 qwen3-4b-tp1 llama-3.1-8b-fused-q"
for n in $BF; do
  timeout 100 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$?"; grep -E "wrote|wrong|FAIL|rror" $R/tune/$n.tune.log | cut -c1-150 | head -2
done
tar czf $OUT/e.tgz -C $R .
for run in run1 run2; do
  for n in $BF; do
    timeout 50 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$?"; grep -E "^geomean" -A1 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-200; echo
  done
  tar czf $OUT/e.tgz -C $R .
done
date -u
for b in $R/tune/*.agb $T4/*fp8.agb; do
  n=$(basename $b .agb)
  AOTGEMM_TEST_BUNDLE=$b timeout 40 python3 -m pytest -q -s -p no:cacheprovider -rs \
    "tests/gpu/test_runtime_gpu.py::test_every_kernel_directly" > $R/kernels/$n.log 2>&1
  echo "kernels $n rc=$?: $(grep -E 'kernel runs' $R/kernels/$n.log | head -1)"
done
tar czf $OUT/e.tgz -C $R .
date -u
AOTGEMM_TEST_FP8_BUNDLE=$T4/llama-3.1-8b-fp8.agb AOTGEMM_TEST_FUSED_BUNDLE=$R/tune/llama-3.1-8b-fused-q.agb \
  AOTGEMM_TEST_BUNDLE=$R/tune/llama-3.1-8b-q.agb timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL" $R/tests_gpu.log | tail -8
tar czf $OUT/e.tgz -C $R .
date -u
