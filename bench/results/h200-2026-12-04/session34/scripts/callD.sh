#!/usr/bin/env bash
# session 34 call D: the four bf16 bundles of scripts/build.sh (the quack source's sm_90a tiles now with ping-pong
# 128 x 144 and 64 x 224): tests/gpu/check_kernels.py on the untuned Qwen2.5-32B TP4 one (every kernel kept), then
# each tuned and `aotgemm bench` twice. Carried: .gpu/whl, .gpu/s34/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/d34; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/d.tgz -C $R .; }
timeout 100 python3 tests/gpu/check_kernels.py .gpu/s34/b/qwen2.5-32b-tp4.agb > $R/qwen2.5-32b-tp4.check_kernels.log 2>&1
echo "check_kernels rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|checks" $R/qwen2.5-32b-tp4.check_kernels.log | tail -3 | cut -c1-200
pack
tune_bench llama-3.1-70b-tp8 .gpu/s34/b $R 70 50
tune_bench llama-3.1-8b .gpu/s34/b $R 100 60
tune_bench qwen2.5-32b-tp4 .gpu/s34/b $R 100 60
tune_bench qwen3-4b-tp1 .gpu/s34/b $R 100 60
date -u
