#!/usr/bin/env bash
# GPU call C (session 4): re-tune the two finer-bucket bundles (call B's did not come back), bench run 2,
# the decoder layer (eager and AOTInductor) with the tuned fused one. Everything in one tarball.
set -uo pipefail
[ -d /tmp/rt ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s4c; mkdir -p $R/tune $R/bench
date -u
for n in llama-3.1-8b-fused-q llama-3.1-8b-q; do
  /usr/bin/time -f "tune wall %e s" timeout 200 python3 -m aotgemm.cli tune .gpu/s4/b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$?"; grep -E "wall" $R/tune/$n.tune.log
done
tar czf $OUT/s4c.tgz -C $R .
for n in llama-3.1-8b-fused-q llama-3.1-8b-q; do
  timeout 100 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/run2 > $R/bench/$n.run2.log 2>&1
  echo "bench $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.run2.log
done
tar czf $OUT/s4c.tgz -C $R .
timeout 330 python3 bench/epilogue_block.py $R/tune/llama-3.1-8b-fused-q.agb --out $R/epilogue_block.json > $R/epilogue_block.txt 2>&1
echo "layer rc=$?"; grep -E "routed|patched:" $R/epilogue_block.txt; tail -6 $R/epilogue_block.txt
tar czf $OUT/s4c.tgz -C $R .
date -u
