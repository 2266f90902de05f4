#!/usr/bin/env bash
# session 20 (as session 19): tune each untuned bundle named ($B/NAME.agb), then `aotgemm bench` it twice, tarring the results
# into $OUT/$TAG.tgz after every step.  Usage: TAG=a B=.gpu/s20/b bash tune_bench.sh NAME...
set -uo pipefail
# .gpu/whl: apache-tvm-ffi and zstandard, trimmed to what the runtime imports (callA.sh says how)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/$TAG; mkdir -p $R/tune $R/bench
for n in "$@"; do
  /usr/bin/time -f "tune wall %e s" timeout 110 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(tail -1 $R/tune/$n.tune.log) splits=$(grep -c ' from M=' $R/tune/$n.tune.log) $(date -u +%T)"
  tar czf $OUT/$TAG.tgz -C $R .
  for run in run1 run2; do
    timeout 75 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$? $(date -u +%T)"; grep -E "^geomean" -A2 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-330; echo
    tar czf $OUT/$TAG.tgz -C $R .
  done
done
date -u
