#!/usr/bin/env bash
# GPU call A (session 11): the bundles built at HEAD with the decode source's new rank (each kind's smallest
# tile first: TMA max_m 16 kernels compete at M = 2..8). Every kernel of the per-channel (scales = "row") fp8
# bundles called directly; then tune and `aotgemm bench` twice: the four per-tensor fp8 bundles, the four
# per-channel ones, the bf16 Llama-3.1-8B bundle and the fused one.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/a; mkdir -p $R/tune $R/bench $R/kernels; B=.gpu/s11/b
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
ROW="llama-3.1-8b-fp8-row qwen2.5-32b-tp4-fp8-row llama-3.1-70b-tp8-fp8-row qwen3-4b-tp1-fp8-row"
TEN="llama-3.1-8b-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8"
for n in $ROW; do
  AOTGEMM_TEST_BUNDLE=$B/$n.agb timeout 60 python3 -m pytest -q -s -p no:cacheprovider -rs \
    "tests/gpu/test_runtime_gpu.py::test_every_kernel_directly" > $R/kernels/$n.log 2>&1
  echo "kernels $n rc=$?"; grep -E "kernel runs|passed|failed" $R/kernels/$n.log | head -3
done
for n in $TEN $ROW llama-3.1-8b-q llama-3.1-8b-fused-q; do
  /usr/bin/time -f "tune wall %e s" timeout 120 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$?"; grep -E "wall|wrong|FAIL|rror|EXCLUDED" $R/tune/$n.tune.log | head -3
  tar czf $OUT/a.tgz -C $R .
done
for run in run1 run2; do
  for n in $TEN $ROW llama-3.1-8b-q llama-3.1-8b-fused-q; do
    timeout 60 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$?"; grep -E "^geomean" -A1 $R/bench/$n.$run.log | tr '\n' ' '; echo
  done
  tar czf $OUT/a.tgz -C $R .
done
date -u
