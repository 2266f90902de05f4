#!/usr/bin/env bash
# session 30, CPU side of call J: the four per-tensor fp8 bundles built with this session's output stage (the scale
# factor read once; 4 outputs a step in one 8-byte store), no GPU.
set -euo pipefail
for m in llama-3.1-70b-tp8-fp8 qwen3-4b-tp1-fp8 qwen2.5-32b-tp4-fp8 llama-3.1-8b-fp8; do
  aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune -o .gpu/s30/b2/$m.agb > .gpu/s30/b2/$m.build.log 2>&1
  tail -n 2 .gpu/s30/b2/$m.build.log
done
