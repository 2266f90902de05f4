#!/usr/bin/env bash
# GPU call D (session 4): the decoder layer (eager, AOTInductor) with the tuned fused finer-bucket bundle
# after the residual rule; the Llama block latency table (issue 12) with the tuned plain one.
set -uo pipefail
[ -d /tmp/rt ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s4d; mkdir -p $R; T=.gpu/s4/c/tune
date -u
timeout 260 python3 bench/epilogue_block.py $T/llama-3.1-8b-fused-q.agb --out $R/epilogue_block.json > $R/epilogue_block.txt 2>&1
echo "layer rc=$?"; grep -E "routed|patched:" $R/epilogue_block.txt; tail -6 $R/epilogue_block.txt
tar czf $OUT/s4d.tgz -C $R .
timeout 300 python3 bench/aoti_latency.py --bundle $T/llama-3.1-8b-q.agb --out $R/aoti_latency.json > $R/aoti_latency.txt 2>&1
echo "latency rc=$?"; tail -40 $R/aoti_latency.txt
tar czf $OUT/s4d.tgz -C $R .
date -u
