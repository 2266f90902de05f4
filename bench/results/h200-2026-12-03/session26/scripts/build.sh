#!/usr/bin/env bash
# session 26, CPU side: the row-wise Llama-3.1-8B fp8 bundle call A tunes (no GPU; about 30 s with a warm cache).
set -euo pipefail
aotgemm build manifests/llama-3.1-8b-fp8-rowwise.toml --gpu H200_SXM --no-tune -o .gpu/s26/new/llama-3.1-8b-fp8-rowwise.agb
