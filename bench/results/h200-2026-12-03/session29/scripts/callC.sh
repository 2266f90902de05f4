#!/usr/bin/env bash
# session 29 call C: the Llama-3.1-8B and Qwen2.5-32B TP4 bf16 bundles built with the max_m 128 TMA designs
# (scripts/build.sh, .gpu/s29/b) tuned, then `aotgemm bench` twice each. The tuned bundles come back under $OUT/agb
# for call D (not committed).
set -uo pipefail
. bench/gpu_call_env.sh
R=/tmp/c29; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/c.tgz --exclude='*.agb' -C $R .; }
for n in llama-3.1-8b qwen2.5-32b-tp4; do
  timeout 120 python3 -m aotgemm.cli tune .gpu/s29/b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(date -u +%T)"; grep -E "M=  *(65|96|128) " $R/tune/$n.tune.log | cut -c1-170; tail -n 3 $R/tune/$n.tune.log | cut -c1-200; pack
  for run in run1 run2; do
    timeout 100 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run > $R/bench/$n.$run.log 2>&1
    echo "bench $n $run rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-300; echo
    grep -E "(down|qkv) +│ +128 " $R/bench/$n.$run.log | cut -c1-140; pack
  done
done
mkdir -p $OUT/agb; cp $R/tune/*.agb $OUT/agb/ 2>/dev/null; pack; date -u
