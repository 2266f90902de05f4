#!/usr/bin/env bash
# session 31 call D: tests/gpu/check_epilogues.py on the untuned bundle of scripts/epilogues.toml (bias on two qkv
# weights, swiglu on two gate_up weights; 60 kernels, 24 of them TMA kernels storing 4 columns a step): every kernel
# at every M from 1 to its max_m against float32, output poisoned, guard row checked. Carried: .gpu/whl, .gpu/s31/b.
set -uo pipefail
source bench/gpu_call_env.sh
mkdir -p $OUT/d
timeout 200 python3 tests/gpu/check_epilogues.py .gpu/s31/b/epilogues.agb > $OUT/d/check_epilogues.log 2>&1
echo "check_epilogues rc=$? $(date -u +%T)"; tail -n 4 $OUT/d/check_epilogues.log
