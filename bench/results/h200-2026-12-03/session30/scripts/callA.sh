#!/usr/bin/env bash
# session 30 call A: e4m3 TMA designs at max_m 64, 128 and 256 (two 128-token tiles), with and without `ov`, on the
# 8 fp8 weights whose M = 64-256 points _scaled_mm kept at 22-53% of the floor (session 25's per-tensor bundles).
# The kernels: `python bench/fp8_decode_probe.py compile .gpu/s30/ov --overlay` on the CPU. Every kernel checked
# against float32 on the dequantized operands at every M from 1 to its max_m (output poisoned first), then timed
# against torch._scaled_mm (per-tensor scales), back to back and after a copy kernel writes x, at M = 33, 64, 96,
# 128, 192, 256 (each point: the designs of the two smallest max_m that hold it).
# Carried: .gpu/w1 (the apache-tvm-ffi wheel alone) and .gpu/s30/ov (kernels.so, designs.json).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/a30; rm -rf $R; mkdir -p $R
timeout 540 python3 bench/fp8_decode_probe.py run .gpu/s30/ov --log $R --ms 33,64,96,128,192,256 --scales tensor \
  > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/probe.log | head -20
tail -n 52 $R/fp8_decode_probe.txt 2>/dev/null | cut -c1-230; tar czf $OUT/a.tgz -C $R .
date -u
