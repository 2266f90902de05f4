#!/usr/bin/env bash
# session 30, CPU side of call K: the four per-tensor fp8 bundles and the Llama-3.1-8B and Qwen2.5-32B TP4 bf16
# bundles built with this session's output stage and out_vec rule (4 columns a step for every design but swiglu's
# owners of fewer than 64), no GPU.
set -euo pipefail
mkdir -p .gpu/s30/b3
for m in llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-8b-fp8; do
  aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune -o .gpu/s30/b3/$m.agb > .gpu/s30/b3/$m.build.log 2>&1
  tail -n 2 .gpu/s30/b3/$m.build.log
done
for m in llama-3.1-8b qwen2.5-32b-tp4; do
  aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune --sources aotgemm --sources cutlass_operators \
    --sources quack -o .gpu/s30/b3/$m.agb > .gpu/s30/b3/$m.build.log 2>&1
  tail -n 2 .gpu/s30/b3/$m.build.log
done
