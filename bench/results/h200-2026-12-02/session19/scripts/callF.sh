#!/usr/bin/env bash
# session 19 call F: the register-fed kernel in e4m3 (its A operand gathered from the two rows' pieces per MMA),
# against designs_for's cp.async and TMA kernels of max_m 8 and 16 and torch._scaled_mm (per-tensor scales), on
# 8192x1024, 5120x1280, 6144x2560 and 4096x4096 at M = 4, 8, 9, 16 (`fp8_decode_probe.py compile .gpu/s19/rf8
# --rf`: 76 kernels), every kernel checked at every M up to its max_m first. WHL=.gpu/whl_tvm (tvm-ffi only).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt ${WHL:-.gpu/whl}/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
timeout 300 python3 bench/fp8_decode_probe.py run .gpu/s19/rf8 --ms 4,8,9,16 --scales tensor --log $OUT/rf8 > $OUT/rf8.log 2>&1
echo "probe rc=$?"; tail -4 $OUT/rf8.log; date -u
