#!/usr/bin/env bash
# GPU call E (session 8): the fp8 TMA kernels now promote each k tile into float32 (decode_tma PROMOTE). The four
# fp8 bundles rebuilt with them (.gpu/s8/f8b; quack offers no fp8 on sm_90a): every kernel of each, untuned, called
# directly at every M it serves (test_runtime_gpu.py), then tuned, aotgemm bench run 1 and run 2, and
# fp8_accum_probe over the tuned bundles (error and speed against _scaled_mm's slow and fast modes).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s8e; mkdir -p $R/tune $R/bench $R/kernels
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
B="llama-3.1-8b-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8"
for n in $B; do
  AOTGEMM_TEST_BUNDLE=.gpu/s8/f8b/$n.agb timeout 100 python3 -m pytest -q -s -p no:cacheprovider -rs \
    tests/gpu/test_runtime_gpu.py -k every_kernel > $R/kernels/$n.log 2>&1
  echo "kernels $n rc=$?"; grep -E "kernel runs|passed|failed|rel. error" $R/kernels/$n.log | head -6
done
tar czf $OUT/s8e.tgz -C $R .
for n in $B; do
  /usr/bin/time -f "tune wall %e s" timeout 100 python3 -m aotgemm.cli tune .gpu/s8/f8b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$?"; grep -E "wall|entries served|wrong|FAIL|rror|EXCLUDED" $R/tune/$n.tune.log | head -5
done
tar czf $OUT/s8e.tgz -C $R .
for run in run1 run2; do
  for n in $B; do
    timeout 50 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.$run.log
  done
  tar czf $OUT/s8e.tgz -C $R .
done
timeout 150 python3 bench/fp8_accum_probe.py $R/tune/llama-3.1-8b-fp8.agb $R/tune/qwen2.5-32b-tp4-fp8.agb \
  $R/tune/llama-3.1-70b-tp8-fp8.agb $R/tune/qwen3-4b-tp1-fp8.agb --log $R/accum > $R/fp8_accum_probe.log 2>&1
echo "accum probe rc=$?"; tail -8 $R/fp8_accum_probe.log
tar czf $OUT/s8e.tgz -C $R .
date -u
