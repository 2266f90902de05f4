#!/usr/bin/env bash
# session 18 call G: the tuner trying each finalist in turn (tune._holds) on the bundles of call C (.gpu/s18/b):
# tune Llama-3.1-8B and Qwen3-4B again, then `aotgemm bench` twice of each
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/g; mkdir -p $R/tune $R/bench; B=.gpu/s18/b
for n in llama-3.1-8b qwen3-4b-tp1; do
  /usr/bin/time -f "tune wall %e s" timeout 110 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(tail -1 $R/tune/$n.tune.log) splits=$(grep -c ' from M=' $R/tune/$n.tune.log)"
  tar czf $OUT/g.tgz -C $R .
  for run in run1 run2; do
    timeout 60 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-330; echo
    tar czf $OUT/g.tgz -C $R .
  done
done
date -u
