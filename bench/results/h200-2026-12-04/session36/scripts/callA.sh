#!/usr/bin/env bash
# session 36 call A: the TMA decode kernels' output stage as committed against OUT_STEPS = 4 (every thread reads the
# partials of 4 steps before it stores any), each design of a build on the 16 non-lm_head weights of the shipped
# manifests twice in one kernels.so (scripts/ab_steps.py: the base from a worktree of HEAD, suffix _s1; the change,
# _s4). Every kernel checked at every M from 1 to its max_m, then timed against cuBLAS (bf16) and _scaled_mm with
# per-tensor scales (e4m3) at M = 16, 32, 64, 128; scripts/ab_table.py pairs the twins.
# Carried: .gpu/w1 (the apache-tvm-ffi wheel alone), .gpu/s36/ab_bfloat16, .gpu/s36/ab_float8_e4m3fn.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/a36; rm -rf $R; mkdir -p $R/bf16 $R/fp8
pack() { tar czf $OUT/a.tgz -C $R .; }
T=bench/results/h200-2026-12-04/session36/scripts/ab_table.py
timeout 270 python3 bench/decode_probe.py run .gpu/s36/ab_bfloat16 --log $R/bf16 --ms 16,32,64,128 \
  > $R/bf16/probe.log 2>&1
echo "bf16 probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/bf16/probe.log | head
cp .gpu/s36/ab_bfloat16/designs.json $R/bf16/; pack
timeout 270 python3 bench/fp8_decode_probe.py run .gpu/s36/ab_float8_e4m3fn --log $R/fp8 --ms 16,32,64,128 \
  --scales tensor > $R/fp8/probe.log 2>&1
echo "fp8 probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/fp8/probe.log | head
cp .gpu/s36/ab_float8_e4m3fn/designs.json $R/fp8/; pack
for d in bf16 fp8; do python3 $T $R/$d > $R/$d/ab_table.txt 2>&1; echo "== $d"; head -14 $R/$d/ab_table.txt; done
pack; date -u
