#!/usr/bin/env bash
# session 34 call B: bench/quack_tile_probe.py on both dtypes, kernels compiled on the CPU machine with
#   python bench/quack_tile_probe.py compile .gpu/s34/tiles_fp8
#   python bench/quack_tile_probe.py compile .gpu/s34/tiles_bf16 --dtype bfloat16
# Carried: .gpu/whl, .gpu/s34.
set -uo pipefail
source bench/gpu_call_env.sh
for d in fp8 bf16; do
  timeout 280 python3 bench/quack_tile_probe.py run .gpu/s34/tiles_$d --log $OUT/tiles_$d 2>&1 | grep -v "^{" | tail -60
done
