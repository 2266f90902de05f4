#!/usr/bin/env bash
# session 31, CPU side: the bundles whose README rows predate session 30's output stage (decode_tma: the scale
# factor read once, 8-byte stores, 4 columns a step), built at HEAD without tuning (2-core machine, no GPU): the
# Llama-3.1-70B TP8 and Qwen3-4B bf16 bundles, the fused Llama-3.1-8B one, and the four per-token (row-wise) fp8
# ones. Session 30's build3.sh built the Llama-3.1-8B and Qwen2.5-32B TP4 bf16 and the per-tensor fp8 bundles
# from the same kernel code (.gpu/s30/b3).
set -euo pipefail
source .venv/bin/activate
B=.gpu/s31/b; mkdir -p $B
for m in llama-3.1-8b-fused llama-3.1-70b-tp8 qwen3-4b-tp1; do
  /usr/bin/time -f "$m wall %e s" aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
for m in llama-3.1-8b-fp8-rowwise llama-3.1-70b-tp8-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise qwen3-4b-tp1-fp8-rowwise; do
  /usr/bin/time -f "$m wall %e s" aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune -o $B/$m.agb \
    > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
