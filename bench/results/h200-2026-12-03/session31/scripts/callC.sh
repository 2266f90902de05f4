#!/usr/bin/env bash
# session 31 call C: the fp8 row-wise bundles (per token: the shipped manifests/*-fp8-rowwise.toml; per output
# channel: session 20's *-fp8-row.toml) built at HEAD (scripts/build.sh, build2.sh) tuned, the fused Llama-3.1-8B
# bundle as call A tuned it (.gpu/s31/t), then `aotgemm bench` twice each. Carried: .gpu/whl, .gpu/s31/t,
# .gpu/s31/b, .gpu/s31/bres (call B's tuned llama-3.1-8b-fp8-rowwise).
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/c31; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/c.tgz -C $R .; }
cp .gpu/s31/t/llama-3.1-8b-fused.agb .gpu/s31/bres/tune/llama-3.1-8b-fp8-rowwise.agb $R/tune/
for n in llama-3.1-70b-tp8-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise qwen3-4b-tp1-fp8-rowwise \
         llama-3.1-8b-fp8-row llama-3.1-70b-tp8-fp8-row qwen2.5-32b-tp4-fp8-row qwen3-4b-tp1-fp8-row; do
  timeout 60 python3 -m aotgemm.cli tune .gpu/s31/b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(date -u +%T)"; pack
done
for n in llama-3.1-8b-fp8-rowwise llama-3.1-70b-tp8-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise qwen3-4b-tp1-fp8-rowwise \
         llama-3.1-8b-fp8-row llama-3.1-70b-tp8-fp8-row qwen2.5-32b-tp4-fp8-row qwen3-4b-tp1-fp8-row llama-3.1-8b-fused; do
  for run in run1 run2; do
    timeout 100 python3 -m aotgemm.cli bench $R/tune/$n.agb -o $R/bench/$run/$n > $R/bench/$n.$run.log 2>&1
    echo "bench $n $run rc=$? $(date -u +%T)"; grep -E "^geomean" -A1 $R/bench/$n.$run.log | tr '\n' ' ' | cut -c1-250; echo
    pack
  done
done
date -u
