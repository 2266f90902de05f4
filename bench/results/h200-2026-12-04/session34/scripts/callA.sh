#!/usr/bin/env bash
# session 34 call A: more tile shapes for the quack source (bench/quack_tile_probe.py, named fp8_tile_probe.py in this
# call and run on e4m3 only; kernels compiled on the CPU machine with `python bench/fp8_tile_probe.py compile
# .gpu/s34/tiles`) against torch._scaled_mm. Carried: .gpu/whl, .gpu/s34 (the tiles/ kernels).
set -uo pipefail
source bench/gpu_call_env.sh
timeout 560 python3 bench/fp8_tile_probe.py run .gpu/s34/tiles --log $OUT/tiles 2>&1 | grep -v "^{" | tail -70
