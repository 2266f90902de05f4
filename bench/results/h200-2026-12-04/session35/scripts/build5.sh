#!/usr/bin/env bash
# session 35, CPU side of call L: the Llama-3.1-8B bf16 bundle with call K's table entries (6144 x 4096 at max_m 32,
# 28672 x 4096 at 64), with the quack source, untuned.
set -euo pipefail
source .venv/bin/activate
B=.gpu/s35/b5; mkdir -p $B
for m in llama-3.1-8b; do
  /usr/bin/time -f "$m wall %e s" aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
