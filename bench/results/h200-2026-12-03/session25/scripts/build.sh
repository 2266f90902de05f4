#!/usr/bin/env bash
# session 25, CPU side: the per-tensor fp8 bundles call E tunes, built from this session's commit (no GPU).
set -euo pipefail
for m in qwen3-4b-tp1-fp8 llama-3.1-8b-fp8 llama-3.1-70b-tp8-fp8; do  # the last for call F, after its table change
  aotgemm build manifests/$m.toml --gpu H200_SXM --no-tune -o .gpu/s25/new/$m.agb
done
