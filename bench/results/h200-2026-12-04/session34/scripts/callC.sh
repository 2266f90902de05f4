#!/usr/bin/env bash
# session 34 call C: the four per-tensor fp8 bundles of scripts/build.sh (the quack source's e4m3 tiles now
# cooperative 128 x {128, 160, 192, 224} and ping-pong 64 x 192): tests/gpu/check_kernels.py on the untuned
# Qwen2.5-32B TP4 and Llama-3.1-70B TP8 ones (every kernel kept, quack's new ones on every layer), then each tuned
# and `aotgemm bench` twice. Carried: .gpu/whl, .gpu/s34/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/c34; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/c.tgz -C $R .; }
for n in qwen2.5-32b-tp4-fp8 llama-3.1-70b-tp8-fp8; do
  timeout 150 python3 tests/gpu/check_kernels.py .gpu/s34/b/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|checks" $R/$n.check_kernels.log | tail -3 | cut -c1-200
  pack
done
for n in qwen2.5-32b-tp4-fp8 qwen3-4b-tp1-fp8 llama-3.1-70b-tp8-fp8 llama-3.1-8b-fp8; do
  tune_bench $n .gpu/s34/b $R 100 60
done
date -u
