#!/usr/bin/env bash
# session 33 call D: every kernel of the untuned Llama-3.1-70B TP8 per-tensor fp8 bundle of scripts/build.sh (quack's
# three promoting e4m3 kernels among them) checked on every layer at M = 1-4096 against float32 (tests/gpu/
# check_kernels.py), then that bundle and Qwen2.5-32B TP4's tuned and `aotgemm bench` twice each.
# Carried: .gpu/whl, .gpu/s33/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/d33; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/d.tgz -C $R .; }
timeout 150 python3 tests/gpu/check_kernels.py .gpu/s33/b/llama-3.1-70b-tp8-fp8.agb > $R/check_kernels.log 2>&1
echo "check_kernels rc=$? $(date -u +%T)"; tail -3 $R/check_kernels.log | cut -c1-200; pack
for n in llama-3.1-70b-tp8-fp8 qwen2.5-32b-tp4-fp8; do tune_bench $n .gpu/s33/b $R 120 60; done
date -u
