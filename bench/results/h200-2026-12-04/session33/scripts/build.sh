#!/usr/bin/env bash
# session 33, CPU side (2-core machine, no GPU): the four per-tensor fp8 bundles of the README's row, built with the
# quack source as well (its sm_90a e4m3 designs that promote without spilling, quack.SM90_FP8_DESIGNS), untuned.
set -euo pipefail
source .venv/bin/activate
B=.gpu/s33/b; mkdir -p $B
for m in llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-8b-fp8; do
  /usr/bin/time -f "$m wall %e s" aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
