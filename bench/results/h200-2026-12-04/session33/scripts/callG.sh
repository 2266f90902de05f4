#!/usr/bin/env bash
# session 33 call G: the per-output-channel fp8 bundles of scripts/build_row.sh: quack's scale_row e4m3 kernels
# checked on every layer at M = 1-4096 (tests/gpu/check_kernels.py, the untuned Llama-3.1-70B TP8 bundle), then the
# four tuned and `aotgemm bench` twice each. Carried: .gpu/whl, .gpu/s33/r.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/g33; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/g.tgz -C $R .; }
timeout 150 python3 tests/gpu/check_kernels.py .gpu/s33/r/llama-3.1-70b-tp8-fp8-row.agb > $R/check_kernels.log 2>&1
echo "check_kernels rc=$? $(date -u +%T)"; grep -E "Quack|FAIL" $R/check_kernels.log | head -5 | cut -c1-200; pack
for n in llama-3.1-70b-tp8-fp8-row qwen2.5-32b-tp4-fp8-row qwen3-4b-tp1-fp8-row llama-3.1-8b-fp8-row; do
  tune_bench $n .gpu/s33/r $R 120 60
done
date -u
