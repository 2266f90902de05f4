#!/usr/bin/env bash
# session 34, CPU side (2-core machine, no GPU): the four per-tensor fp8 bundles and the four bf16 bundles of the
# README's rows, built with the quack source's new tiles (cooperative 128 x {160, 224} e4m3, ping-pong 128 x 144 and
# 64 x 224 bf16), untuned.
set -euo pipefail
source .venv/bin/activate
B=.gpu/s34/b; mkdir -p $B
for m in qwen2.5-32b-tp4-fp8 qwen3-4b-tp1-fp8 llama-3.1-70b-tp8-fp8 llama-3.1-8b-fp8 \
         llama-3.1-70b-tp8 llama-3.1-8b qwen3-4b-tp1 qwen2.5-32b-tp4; do
  /usr/bin/time -f "$m wall %e s" aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
