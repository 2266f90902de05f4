#!/usr/bin/env bash
# Usage: tune_bench.sh RESULTS_DIR ARCHIVE BUNDLE_NAME...: tune each untuned bundle of $B (default .gpu/s15/b),
# then `aotgemm bench` twice over the tuned bundles (run 1 of all, then run 2 of all); archive after each step.
set -uo pipefail
R=$1; A=$2; shift 2; B=${B:-.gpu/s15/b}; mkdir -p $R/tune $R/bench
for n in "$@"; do
  /usr/bin/time -f "tune wall %e s" timeout 150 python3 -m aotgemm.cli tune $B/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(tail -1 $R/tune/$n.tune.log) splits=$(grep -c ' from M=' $R/tune/$n.tune.log)"
  tar czf $A -C $R .
done
for run in run1 run2; do
  for n in "$@"; do
    timeout 90 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $run $n rc=$?"; grep -E "^geomean" -A2 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-330; echo
  done
  tar czf $A -C $R .
done
