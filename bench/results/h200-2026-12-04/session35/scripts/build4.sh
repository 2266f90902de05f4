#!/usr/bin/env bash
# session 35, CPU side of call J: the Qwen2.5-32B TP4 bf16 bundle with call I's table entry for its qkv (1792 x 5120),
# with the quack source, untuned.
set -euo pipefail
source .venv/bin/activate
B=.gpu/s35/b4; mkdir -p $B
for m in qwen2.5-32b-tp4; do
  /usr/bin/time -f "$m wall %e s" aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
