#!/usr/bin/env bash
# GPU call F (session 15): e4m3 (W8A8) CUDA-core M = 1 designs from the divisor rule (K = 2560: 5 warps), with
# everything designs_for offers for Qwen3-4B's fp8 qkv and gate_up, both scale epilogues: checked against the
# float32 reference on dequantized operands, then timed at M = 1 and 2 against torch._scaled_mm.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
mkdir -p $OUT/fp8
timeout 250 python3 bench/fp8_decode_probe.py run .gpu/s15/fp8k --log $OUT/fp8 --ms 1,2 > $OUT/fp8/run.log 2>&1
echo "fp8 rc=$?"; grep -E "CRASH|wrong|kernels checked|geomean" $OUT/fp8/run.log | head
tail -n 20 $OUT/fp8/fp8_decode_probe.txt
date -u
