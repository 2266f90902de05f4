#!/usr/bin/env bash
# GPU call 4 (session 12): call 3 again, with every output in one archive (call 3 wrote its files loose and the
# tuned bundles did not come back): tune the nine bundles, then `aotgemm bench` twice on the same tuned bundles.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/d; mkdir -p $R/tune $R/bench; B=.gpu/s12/cb
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
ALL="llama-3.1-8b-q qwen2.5-32b-tp4 llama-3.1-70b-tp8 qwen3-4b-tp1 llama-3.1-8b-fused-q llama-3.1-8b-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8"
for n in $ALL; do
  /usr/bin/time -f "tune wall %e s" timeout 120 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$?"; grep -E "wrote|wrong|FAIL|rror" $R/tune/$n.tune.log | cut -c1-150 | head -2
done
tar czf $OUT/d.tgz -C $R .
for run in run1 run2; do
  for n in $ALL; do
    timeout 60 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-260; echo
  done
  tar czf $OUT/d.tgz -C $R .
done
date -u
