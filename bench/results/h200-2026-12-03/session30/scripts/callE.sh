#!/usr/bin/env bash
# session 30 call E: the per-tensor fp8 Llama-3.1-70B TP8 bundle built with the e4m3 max_m 128 design for its qkv
# (scripts/build.sh, .gpu/s30/b), tuned on the H200 (runtime install only), then `aotgemm bench` twice, back to back
# in this call. Carried: .gpu/whl, .gpu/s30/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/e30; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/e.tgz -C $R .; }
b=llama-3.1-70b-tp8-fp8
timeout 150 python3 -m aotgemm.cli tune .gpu/s30/b/$b.agb -o $R/tune/$b.agb > $R/tune/$b.tune.log 2>&1
echo "tune $b rc=$? $(date -u +%T)"; grep -E "qkv +M= +(64|128|256)" $R/tune/$b.tune.log | cut -c1-220; tail -n 2 $R/tune/$b.tune.log | cut -c1-200
for run in run1 run2; do
  timeout 150 python3 -m aotgemm.cli bench $R/tune/$b.agb -o $R/bench/$run/$b > $R/bench/$b.$run.log 2>&1
  echo "bench $b $run rc=$? $(date -u +%T)"; grep -E "qkv +│ +(64|128|256) " $R/bench/$b.$run.log
  grep -E "^geomean" -A1 $R/bench/$b.$run.log | tr '\n' ' ' | cut -c1-260; echo
  pack
done
date -u
