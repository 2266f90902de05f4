#!/usr/bin/env bash
# GPU call A (session 7): the fp8 TMA + wgmma sweep (fp8_decode_probe compile --tma-sweep): designs_for's fp8
# kernels (both scale forms) plus the TMA grid, 16 shapes of the four fp8 manifests; correctness at every M,
# then timing at M = 16, 32, 64 ("tensor" scales) against torch._scaled_mm, back to back and in model mode.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
mkdir -p $OUT/probe
timeout 560 python3 bench/fp8_decode_probe.py run .gpu/s7/fp8sweep --log $OUT/probe --ms 16,32,64 --scales tensor --budget 500 > $OUT/probe/log.txt 2>&1
echo "probe rc=$?"
grep -E "CRASH|failing|wrong|took|budget" $OUT/probe/log.txt | head -20
tail -52 $OUT/probe/log.txt
date -u
