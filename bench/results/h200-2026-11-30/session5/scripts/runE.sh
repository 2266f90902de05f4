#!/usr/bin/env bash
# GPU call E (session 5): the Llama block latency table (issue 12) with the M-guarded packages (aoti/guard.py):
# correctness vs eager, hits, CUDA-graph capture of the cond, interleaved latency, aotgemm's share of the load.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
T=.gpu/s5/a/tune
date -u; git log --oneline | head -1
timeout 215 python3 bench/aoti_latency.py --bundle $T/llama-3.1-8b-q.agb --trials 100 --iters 20 --graph-ms 1,16 --skip-overhead \
  --out $OUT/aoti_latency.json > $OUT/aoti_latency.txt 2>&1
echo "latency rc=$?"; grep -A6 "^interleaved" $OUT/aoti_latency.txt; grep -E "^(eager|aoti)|share|compiled" $OUT/aoti_latency.txt
date -u
