#!/usr/bin/env bash
# session 35, CPU side: the Llama-3.1-70B TP8, Qwen2.5-32B TP4 and Qwen3-4B bf16 bundles with call D's measured TMA
# designs (decode_designs._TMA_SM90 for their weights that had the rule's), with the quack source, untuned.
set -euo pipefail
source .venv/bin/activate
B=.gpu/s35/b2; mkdir -p $B
for m in llama-3.1-70b-tp8 qwen2.5-32b-tp4 qwen3-4b-tp1; do
  /usr/bin/time -f "$m wall %e s" aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune --sources aotgemm \
    --sources cutlass_operators --sources quack -o $B/$m.agb > $B/$m.build.log 2>&1
  tail -n 1 $B/$m.build.log
done
