#!/usr/bin/env bash
# session 34, CPU side: the fused Llama-3.1-8B bundle (whose swiglu layers get the quack source's new ping-pong
# 64 x 224 tile too: its N is a multiple of 32) and the four per-token fp8 bundles, with the quack source, untuned.
set -euo pipefail
source .venv/bin/activate
B=.gpu/s34/b; mkdir -p $B
for m in llama-3.1-8b-fused llama-3.1-8b-fp8-rowwise llama-3.1-70b-tp8-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise \
         qwen3-4b-tp1-fp8-rowwise; do
  /usr/bin/time -f "$m wall %e s" aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
