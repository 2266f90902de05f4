#!/usr/bin/env bash
# GPU call D1 (session 6): tune the six session-6 bundles (decode designs now include the TMA + wgmma
# kernels at max_m 16/32/64), then aotgemm bench run 1 of each. Everything in one tarball.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s6d; mkdir -p $R/tune $R/bench
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u; git log --oneline | head -1
B="llama-3.1-8b-q llama-3.1-8b-fused-q llama-3.1-8b-fp8 qwen2.5-32b-tp4 llama-3.1-70b-tp8 qwen3-4b-tp1"
for n in $B; do
  /usr/bin/time -f "tune wall %e s" timeout 100 python3 -m aotgemm.cli tune .gpu/s6/b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$?"; grep -E "wall|entries served|wrong|FAIL|rror" $R/tune/$n.tune.log | head -5
  tar czf $OUT/s6d.tgz -C $R .
done
for n in $B; do
  timeout 45 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/run1 > $R/bench/$n.run1.log 2>&1
  echo "bench $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.run1.log
done
tar czf $OUT/s6d.tgz -C $R .
date -u
