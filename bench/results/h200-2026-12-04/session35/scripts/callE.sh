#!/usr/bin/env bash
# session 35 call E: the Llama-3.1-70B TP8, Qwen2.5-32B TP4 and Qwen3-4B bf16 bundles of scripts/build2.sh (call D's
# measured TMA designs for their weights): check_kernels on each untuned bundle, then each tuned and `aotgemm bench`
# twice. Carried: .gpu/whl, .gpu/s35/b2.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/e35; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/e.tgz -C $R .; }
for n in llama-3.1-70b-tp8 qwen2.5-32b-tp4 qwen3-4b-tp1; do
  timeout 120 python3 tests/gpu/check_kernels.py .gpu/s35/b2/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; tail -n 1 $R/$n.check_kernels.log | cut -c1-200
done
pack
for n in llama-3.1-70b-tp8 qwen2.5-32b-tp4 qwen3-4b-tp1; do
  tune_bench $n .gpu/s35/b2 $R 120 80
done
date -u
