#!/usr/bin/env bash
# GPU call B (session 8): tune the four fp8 bundles (.gpu/s8/f8: aotgemm decode kernels plus quack's GEMMs with the
# dequantizing epilogue for M >= 256), then aotgemm bench run 1 and run 2 of each against torch._scaled_mm.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s8b; mkdir -p $R/tune $R/bench
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u; git log --oneline | head -1
B="llama-3.1-8b-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8"
for n in $B; do
  /usr/bin/time -f "tune wall %e s" timeout 110 python3 -m aotgemm.cli tune .gpu/s8/f8/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$?"; grep -E "wall|entries served|wrong|FAIL|rror|EXCLUDED" $R/tune/$n.tune.log | head -5
  tar czf $OUT/s8b.tgz -C $R .
done
for run in run1 run2; do
  for n in $B; do
    timeout 50 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.$run.log
  done
  tar czf $OUT/s8b.tgz -C $R .
done
date -u
