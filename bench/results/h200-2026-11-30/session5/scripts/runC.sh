#!/usr/bin/env bash
# GPU call C (session 5): the Llama block latency table (issue 12) again, with the interleaved rounds now in
# aotgemm.timing.trial_order (a balanced Latin square) instead of one fixed order; the decoder layer (issue 13)
# with the tuned fused bundle, same change.
set -uo pipefail
[ -d /tmp/rt ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s5c; mkdir -p $R; T=.gpu/s5/a/tune
date -u
timeout 280 python3 bench/aoti_latency.py --bundle $T/llama-3.1-8b-q.agb --trials 160 --out $R/aoti_latency.json > $R/aoti_latency.txt 2>&1
echo "latency rc=$?"; grep -A6 "^interleaved" $R/aoti_latency.txt; grep -E "^(eager|aoti)|^hit|^miss|^startup" $R/aoti_latency.txt
tar czf $OUT/s5c.tgz -C $R .
timeout 240 python3 bench/epilogue_block.py $T/llama-3.1-8b-fused-q.agb --trials 25 --out $R/epilogue_block.json > $R/epilogue_block.txt 2>&1
echo "layer rc=$?"; grep -E "routed|patched:" $R/epilogue_block.txt; tail -7 $R/epilogue_block.txt
tar czf $OUT/s5c.tgz -C $R .
date -u
