#!/usr/bin/env bash
# session 30 call J: the four per-tensor fp8 bundles built with this session's output stage (scripts/build2.sh,
# .gpu/s30/b2), tuned on the H200 (runtime install only), then `aotgemm bench` twice each; run after call I in the same
# machine session. Carried: .gpu/whl, .gpu/s30/b2.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/j30; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/j.tgz -C $R .; }
for b in llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-8b-fp8; do
  timeout 120 python3 -m aotgemm.cli tune .gpu/s30/b2/$b.agb -o $R/tune/$b.agb > $R/tune/$b.tune.log 2>&1
  echo "tune $b rc=$? $(date -u +%T)"; pack
  for run in run1 run2; do
    timeout 120 python3 -m aotgemm.cli bench $R/tune/$b.agb -o $R/bench/$run/$b > $R/bench/$b.$run.log 2>&1
    echo "bench $b $run rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/$b.$run.log | tr '\n' ' ' | cut -c1-250; echo
    pack
  done
done
mkdir -p $OUT/agb; cp $R/tune/*.agb $OUT/agb/ 2>/dev/null; date -u
