#!/usr/bin/env bash
# GPU call B (session 5): bench run 2 of call A's tuned bundles; the Llama block latency table (issue 12,
# 120 interleaved trials) with the tuned plain one; the MLP and the decoder layer with the tuned fused one.
set -uo pipefail
[ -d /tmp/rt ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s5b; mkdir -p $R/bench; T=.gpu/s5/a/tune
date -u
for n in llama-3.1-8b-q llama-3.1-8b-fused-q; do
  timeout 80 python3 -m aotgemm.cli bench $T/$n.agb -o $R/bench/run2 > $R/bench/$n.run2.log 2>&1
  echo "bench $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.run2.log
done
timeout 60 python3 bench/mlp_fused.py $T/llama-3.1-8b-fused-q.agb -o $R/mlp_fused_q.json > $R/mlp_fused_q.txt 2>&1
echo "mlp rc=$?"; tail -6 $R/mlp_fused_q.txt
tar czf $OUT/s5b.tgz -C $R .
timeout 280 python3 bench/aoti_latency.py --bundle $T/llama-3.1-8b-q.agb --trials 120 --out $R/aoti_latency.json > $R/aoti_latency.txt 2>&1
echo "latency rc=$?"; grep -A6 "^interleaved" $R/aoti_latency.txt; grep -E "^(eager|aoti)" $R/aoti_latency.txt
tar czf $OUT/s5b.tgz -C $R .
date -u
