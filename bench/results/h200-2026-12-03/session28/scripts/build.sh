#!/usr/bin/env bash
# session 28, CPU side: the untuned per-tensor and row-wise Llama-3.1-8B fp8 bundles call A tunes (2 cores, cold
# compile cache: 54 s and 41 s, 58 kernels each).
set -euo pipefail
for m in llama-3.1-8b-fp8 llama-3.1-8b-fp8-rowwise; do
  aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune -o .gpu/b/$m.agb
done
