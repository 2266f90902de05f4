#!/usr/bin/env bash
# session 34 call F: (1) tests/gpu/check_kernels.py on the untuned fused Llama-3.1-8B bundle of scripts/build2.sh
# (quack's gated ping-pong 64 x 224 among its kernels); (2) bench/quack_tile_probe.py on the four models' gate_up
# weights at M = 256-4096 (call E's kernels); (3) the four per-token fp8 bundles of build2.sh and the fused one
# tuned, `aotgemm bench` twice each. Carried: .gpu/whl, .gpu/s34/b, .gpu/s34/tiles2_*.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/f34; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/f.tgz -C $R .; }
timeout 100 python3 tests/gpu/check_kernels.py .gpu/s34/b/llama-3.1-8b-fused.agb > $R/llama-3.1-8b-fused.check_kernels.log 2>&1
echo "check_kernels fused rc=$? $(date -u +%T)"; grep -E "Quack|kernels correct|FAIL" $R/llama-3.1-8b-fused.check_kernels.log | cut -c1-160
pack
for d in bf16 fp8; do
  timeout 150 python3 bench/quack_tile_probe.py run .gpu/s34/tiles2_$d --log $R/gate_up_$d --ms 256,512,1024,4096 \
    --weights 7168x8192,13824x5120,19456x2560,28672x4096 2>&1 | grep -v "^{" | tail -20
  pack
done
for n in llama-3.1-8b-fp8-rowwise llama-3.1-70b-tp8-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise qwen3-4b-tp1-fp8-rowwise; do
  tune_bench $n .gpu/s34/b $R 60 40
done
tune_bench llama-3.1-8b-fused .gpu/s34/b $R 150 80
date -u
