#!/usr/bin/env bash
# session 34 call E: bench/quack_tile_probe.py at mid M (128, 256, 512), where call D's tuner took ping-pong 64 x 224
# on bf16 gate_up weights at M = 256, with every 64-row ping-pong width; kernels compiled on the CPU machine with
#   python bench/quack_tile_probe.py compile .gpu/s34/tiles2_fp8
#   python bench/quack_tile_probe.py compile .gpu/s34/tiles2_bf16 --dtype bfloat16
# ("now" is the source as of call C/D: its e4m3 and bf16 tiles with call B's additions). Carried: .gpu/whl, .gpu/s34.
set -uo pipefail
source bench/gpu_call_env.sh
for d in bf16 fp8; do
  timeout 280 python3 bench/quack_tile_probe.py run .gpu/s34/tiles2_$d --log $OUT/tiles2_$d --ms 128,256,512 2>&1 \
    | grep -v "^{" | tail -45
done
