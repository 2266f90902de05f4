#!/usr/bin/env bash
# On the CPU machine: build MANIFEST for the H200, untuned, with every kernel source, into DIR/<manifest name>.agb,
# for a GPU call to tune and bench (the session call scripts' `build` step).
#   bash bench/build_h200_bundle.sh manifests/gemma-2-9b-fused.toml .gpu/gemma
set -euo pipefail
manifest=$1 dir=$2
source .venv/bin/activate
mkdir -p "$dir"
aotgemm build "$manifest" --gpu H200_SXM --no-tune --sources aotgemm --sources cutlass_operators --sources quack \
  -o "$dir/$(basename "$manifest" .toml).agb"
