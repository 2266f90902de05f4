#!/usr/bin/env bash
# GPU call B (session 4): tune + bench the finer-bucket quack bundles; the fused MLP with the fused one.
set -uo pipefail
[ -d /tmp/rt ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=$OUT; mkdir -p $R/tune $R/bench
date -u
for n in llama-3.1-8b-fused-q llama-3.1-8b-q; do
  /usr/bin/time -f "tune wall %e s" timeout 200 python3 -m aotgemm.cli tune .gpu/s4/b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$?"; grep -E "quack|wall" $R/tune/$n.tune.log | tail -14
done
timeout 120 python3 bench/mlp_fused.py $R/tune/llama-3.1-8b-fused-q.agb -o $R/mlp_fused_q.json > $R/mlp_fused_q.txt 2>&1
echo "mlp rc=$?"; tail -8 $R/mlp_fused_q.txt
for n in llama-3.1-8b-fused-q llama-3.1-8b-q; do
  timeout 100 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/run1 > $R/bench/$n.run1.log 2>&1
  echo "bench $n rc=$?"; grep -E "quack" $R/bench/$n.run1.log; grep -E "^geomean" -A2 $R/bench/$n.run1.log
done
date -u
