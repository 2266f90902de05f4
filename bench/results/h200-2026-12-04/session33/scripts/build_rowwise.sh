#!/usr/bin/env bash
# session 33, CPU: the four per-token (torchao PerRow) fp8 bundles built with the quack source as well, now that it
# serves scale_rowwise (scale_a a vector along M), untuned, for call J.
set -euo pipefail
source .venv/bin/activate
B=.gpu/s33/w; mkdir -p $B
for m in llama-3.1-70b-tp8-fp8-rowwise qwen2.5-32b-tp4-fp8-rowwise qwen3-4b-tp1-fp8-rowwise llama-3.1-8b-fp8-rowwise; do
  /usr/bin/time -f "$m wall %e s" aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
