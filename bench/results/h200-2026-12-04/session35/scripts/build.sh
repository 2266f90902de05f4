#!/usr/bin/env bash
# session 35, CPU side: the Llama-3.1-70B TP8 bf16 bundle, whose lm_head (16032 x 8192, a last CTA past N) now gets
# TMA decode designs at max_m 16, 32 and 64, with the quack source, untuned.
set -euo pipefail
source .venv/bin/activate
B=.gpu/s35/b; mkdir -p $B
for m in llama-3.1-70b-tp8; do
  /usr/bin/time -f "$m wall %e s" aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
