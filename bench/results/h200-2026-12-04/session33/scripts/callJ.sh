#!/usr/bin/env bash
# session 33 call J: the per-token fp8 bundles of scripts/build_rowwise.sh: quack's scale_rowwise e4m3 kernels checked
# on every layer at M = 1-4096 (tests/gpu/check_kernels.py, the untuned Llama-3.1-70B TP8 bundle), then the four
# tuned and `aotgemm bench` twice each. Carried: .gpu/whl, .gpu/s33/w.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/j33; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/j.tgz -C $R .; }
timeout 60 python3 tests/gpu/check_kernels.py .gpu/s33/w/llama-3.1-70b-tp8-fp8-rowwise.agb > $R/check_kernels.log 2>&1
echo "check_kernels rc=$? $(date -u +%T)"; grep -E "Quack|FAIL" $R/check_kernels.log | head -5 | cut -c1-200; pack
for n in llama-3.1-70b-tp8-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise qwen3-4b-tp1-fp8-rowwise llama-3.1-8b-fp8-rowwise; do
  tune_bench $n .gpu/s33/w $R 60 30
done
date -u
