#!/usr/bin/env bash
# session 35 call J: the Qwen2.5-32B TP4 bf16 bundle of scripts/build4.sh (call I's measured TMA designs for its qkv):
# check_kernels on the untuned bundle, then tuned and `aotgemm bench` twice. Carried: .gpu/whl, .gpu/s35/b4.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/j35; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/j.tgz -C $R .; }
for n in qwen2.5-32b-tp4; do
  timeout 120 python3 tests/gpu/check_kernels.py .gpu/s35/b4/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; tail -n 1 $R/$n.check_kernels.log | cut -c1-200
done
pack
for n in qwen2.5-32b-tp4; do
  tune_bench $n .gpu/s35/b4 $R 120 80
done
date -u
