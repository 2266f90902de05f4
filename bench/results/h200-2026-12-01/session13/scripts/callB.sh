#!/usr/bin/env bash
# GPU call B (session 13): the four bf16 bundles and the fused one, built with the decode shortlist (at M = 2..8 the
# cp.async max_m 16 designs beside the TMA max_m 16 ones), tuned, then `aotgemm bench` twice on the same bundles.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/b; mkdir -p $R/tune $R/bench; B=.gpu/s13/b
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
BF="qwen3-4b-tp1 llama-3.1-8b-q qwen2.5-32b-tp4 llama-3.1-70b-tp8 llama-3.1-8b-fused-q"
for n in $BF; do
  /usr/bin/time -f "tune wall %e s" timeout 100 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(tail -1 $R/tune/$n.tune.log)"; grep -E "wrong|FAIL|rror" $R/tune/$n.tune.log | cut -c1-150 | head -2
done
tar czf $OUT/b.tgz -C $R .
for run in run1 run2; do
  for n in $BF; do
    timeout 50 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$?"; grep -E "^geomean" -A1 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-200; echo
  done
  tar czf $OUT/b.tgz -C $R .
done
date -u
