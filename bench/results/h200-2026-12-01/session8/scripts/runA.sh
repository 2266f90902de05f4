#!/usr/bin/env bash
# GPU call A (session 8): re-tune the four bf16 bundles and the fused Llama bundle (built at HEAD, .gpu/s8/b) under
# the session-7 tuner rules (NO_LOSS_LOW, FRESH_DRAWS), then aotgemm bench run 1 and run 2 of the four bf16 bundles.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s8a; mkdir -p $R/tune $R/bench
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u; git log --oneline | head -1
B="llama-3.1-8b-q qwen2.5-32b-tp4 llama-3.1-70b-tp8 qwen3-4b-tp1"
for n in $B llama-3.1-8b-fused-q; do
  /usr/bin/time -f "tune wall %e s" timeout 100 python3 -m aotgemm.cli tune .gpu/s8/b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$?"; grep -E "wall|entries served|wrong|FAIL|rror|EXCLUDED" $R/tune/$n.tune.log | head -5
done
tar czf $OUT/s8a.tgz -C $R .
for run in run1 run2; do
  for n in $B; do
    timeout 50 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.$run.log
  done
  tar czf $OUT/s8a.tgz -C $R .
done
date -u
