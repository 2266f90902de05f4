#!/usr/bin/env bash
# session 25 call E: the fp8 bundles built with the new e4m3 TMA designs (scripts/build.sh, .gpu/s25/new), tuned on
# the H200 (runtime install only), then `aotgemm bench` twice each, back to back in this call.
#   bash callE.sh BUNDLE_NAME...
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/e25; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/e.tgz -C $R .; }
for b in "$@"; do  # each bundle whole (tune, two benches) before the next: the first matters most
  timeout 100 python3 -m aotgemm.cli tune .gpu/s25/new/$b.agb -o $R/tune/$b.agb > $R/tune/$b.tune.log 2>&1
  echo "tune $b rc=$? $(date -u +%T)"; tail -n 1 $R/tune/$b.tune.log | cut -c1-200; pack
  for run in run1 run2; do
    timeout 100 python3 -m aotgemm.cli bench $R/tune/$b.agb -o $R/bench/$run/$b > $R/bench/$b.$run.log 2>&1
    echo "bench $b $run rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/$b.$run.log | tr '\n' ' ' | cut -c1-240; echo
    pack
  done
  mkdir -p $OUT/agb; cp $R/tune/$b.agb $OUT/agb/ 2>/dev/null
done
date -u
