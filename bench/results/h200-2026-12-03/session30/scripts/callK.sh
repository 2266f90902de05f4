#!/usr/bin/env bash
# session 30 call K: the bundles of scripts/build3.sh (this session's output stage and out_vec rule; .gpu/s30/b3) tuned
# on the H200, then `aotgemm bench` twice each: the four per-tensor fp8 bundles first, then the Llama-3.1-8B and
# Qwen2.5-32B TP4 bf16 ones. Carried: .gpu/whl, .gpu/s30/b3.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/k30; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/k.tgz --exclude='*.agb' -C $R .; }
for b in llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-8b-fp8 llama-3.1-8b qwen2.5-32b-tp4; do
  timeout 150 python3 -m aotgemm.cli tune .gpu/s30/b3/$b.agb -o $R/tune/$b.agb > $R/tune/$b.tune.log 2>&1
  echo "tune $b rc=$? $(date -u +%T)"; pack
  for run in run1 run2; do
    timeout 120 python3 -m aotgemm.cli bench $R/tune/$b.agb -o $R/bench/$run/$b > $R/bench/$b.$run.log 2>&1
    echo "bench $b $run rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/$b.$run.log | tr '\n' ' ' | cut -c1-250; echo
    pack
  done
done
date -u
