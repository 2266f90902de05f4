#!/usr/bin/env bash
# session 33 call C: quack's e4m3 GEMMs that promote without spilling (bench/fp8_promote_probe.py; kernels compiled on
# the CPU machine with `python bench/fp8_promote_probe.py compile .gpu/s33/promote`) against torch._scaled_mm.
# Carried: .gpu/whl, .gpu/s33 (the promote/ kernels).
set -uo pipefail
source bench/gpu_call_env.sh
timeout 560 python3 bench/fp8_promote_probe.py run .gpu/s33/promote --log $OUT/promote 2>&1 | grep -v "^{" | tail -40
