#!/usr/bin/env bash
# GPU call D2 (session 6): tune the four rebuilt bundles (.gpu/s6/b2: the TMA rule's shapes), bench run 1
# of those and run 2 of the two Llama bundles tuned in D1, then the Llama MLP (fused bundle).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s6e; mkdir -p $R/tune $R/bench; T=.gpu/s6/d/tune
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
B2="llama-3.1-8b-fp8 qwen2.5-32b-tp4 llama-3.1-70b-tp8 qwen3-4b-tp1"
for n in $B2; do
  /usr/bin/time -f "tune wall %e s" timeout 80 python3 -m aotgemm.cli tune .gpu/s6/b2/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$?"; grep -E "wall|entries served|wrong|FAIL|rror" $R/tune/$n.tune.log | head -5
done
tar czf $OUT/s6e.tgz -C $R .
for n in llama-3.1-8b-q llama-3.1-8b-fused-q; do
  timeout 45 python3 -m aotgemm.cli bench $T/$n.agb -o $R/bench/run2 > $R/bench/$n.run2.log 2>&1
  echo "bench run2 $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.run2.log
done
for n in $B2; do
  timeout 45 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/run1 > $R/bench/$n.run1.log 2>&1
  echo "bench run1 $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.run1.log
done
tar czf $OUT/s6e.tgz -C $R .
timeout 60 python3 bench/mlp_fused.py $T/llama-3.1-8b-fused-q.agb -o $R/mlp_fused_q.json > $R/mlp_fused_q.txt 2>&1
echo "mlp rc=$?"; tail -7 $R/mlp_fused_q.txt
tar czf $OUT/s6e.tgz -C $R .
date -u
