#!/usr/bin/env bash
# session 30 call B: e4m3 TMA designs at max_m 64 and 128 whose x tile is multicast over cn = 2 or 4 CTAs, each beside
# its twin without, on call A's 8 weights (x read through L2 once per cn CTAs instead of once per CTA).
# The kernels: `python bench/fp8_decode_probe.py compile .gpu/s30/mc --multicast` on the CPU. Every kernel checked
# against float32 on the dequantized operands at every M from 1 to its max_m (output poisoned first), then timed
# against torch._scaled_mm (per-tensor scales), back to back and after a copy kernel writes x, at M = 33, 64, 96, 128
# (each point: the designs of the two smallest max_m that hold it).
# Carried: .gpu/w1 (the apache-tvm-ffi wheel alone) and .gpu/s30/mc (kernels.so, designs.json).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/b30; rm -rf $R; mkdir -p $R
timeout 540 python3 bench/fp8_decode_probe.py run .gpu/s30/mc --log $R --ms 33,64,96,128 --scales tensor \
  > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/probe.log | head -20
tail -n 52 $R/fp8_decode_probe.txt 2>/dev/null | cut -c1-230; tar czf $OUT/b.tgz -C $R .
date -u
