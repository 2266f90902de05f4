#!/usr/bin/env bash
# session 38 call F: Llama-3.1-70B TP8's per-token fp8 bundle built from session 37's HEAD (29ae70a, old: no max_m 8
# TMA kernels) and from this session's code (new: call E's build), both tuned on one machine, then benched in the
# order old, new, old, new: across machines (call E against session 37's call F) its geomean fell 1.6% while its
# kernels at M = 2-8 ran 2.0% faster and row-wise `_scaled_mm` 4.6% faster. Carried: .gpu/w2, .gpu/s38/ab.
set -uo pipefail
WHEELS=.gpu/w2 source bench/gpu_call_env.sh
R=/tmp/f38; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/f.tgz -C $R .; }
for n in old new; do
  timeout 120 python3 -m aotgemm.cli tune .gpu/s38/ab/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(date -u +%T)"; pack
done
for run in run1 run2; do
  for n in old new; do
    timeout 80 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run/$n > $R/bench/$n.$run.log 2>&1
    echo "bench $n $run rc=$? $(date -u +%T)"
    grep -E "^geomean" -A1 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-250; echo; pack
  done
done
date -u
