#!/usr/bin/env bash
# On a GPU host: a tuned build of the Llama-3.1-8B manifest, then `aotgemm bench` twice.
# Usage: bash bench/gpu_tune_and_bench.sh OUTDIR
set -euo pipefail
out=${1:?output dir}
mkdir -p "$out"
SECONDS=0
python3 -m aotgemm.cli build manifests/llama-3.1-8b.toml --gpu H100_SXM -o "$out/llama-3.1-8b-h100.agb" \
  --cache-dir /tmp/aotgemm-cache 2> "$out/build.log" | tee "$out/build.txt"
echo "build wall time: ${SECONDS} s" | tee -a "$out/build.txt"
python3 -m aotgemm.cli inspect "$out/llama-3.1-8b-h100.agb" > "$out/inspect.txt" || true
python3 -m aotgemm.cli bench "$out/llama-3.1-8b-h100.agb" -o "$out/run1" | tail -8
python3 -m aotgemm.cli bench "$out/llama-3.1-8b-h100.agb" -o "$out/run2" | tail -3
