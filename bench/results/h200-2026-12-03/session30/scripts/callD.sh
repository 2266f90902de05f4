#!/usr/bin/env bash
# session 30 call D: e4m3 max_m 128 as two 64-token tiles (decode_tma's `tt` 2: the tile shape _scaled_mm's kernels ran
# at M = 128 under ncu in call C), one or two warpgroups, with and without `ov`, beside call A's fastest single-tile
# max_m 128 design, on call A's 8 weights. The kernels: `python bench/fp8_decode_probe.py compile .gpu/s30/tt
# --tokens` on the CPU. Every kernel checked against float32 on the dequantized operands at every M from 1 to 128
# (output poisoned first), then timed against torch._scaled_mm (per-tensor scales), back to back and after a copy
# kernel writes x, at M = 65, 96, 128. Carried: .gpu/w1 and .gpu/s30/tt (kernels.so, designs.json).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/w1/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial,clocks.max.sm,power.limit --format=csv,noheader; date -u
R=/tmp/d30; rm -rf $R; mkdir -p $R
timeout 540 python3 bench/fp8_decode_probe.py run .gpu/s30/tt --log $R --ms 65,96,128 --scales tensor > $R/probe.log 2>&1
echo "probe rc=$? $(date -u +%T)"; grep -E "wrong|crash|CRASH|kernels checked|checks took" $R/probe.log | head -20
tail -n 30 $R/fp8_decode_probe.txt 2>/dev/null | cut -c1-230; tar czf $OUT/d.tgz -C $R .
date -u
