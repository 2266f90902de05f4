#!/usr/bin/env bash
# GPU call A (session 6): the TMA + wgmma decode kernels (decode_tma) against cuBLAS and the cp.async
# kernels: correctness at every M, then timing at M = 8, 16, 32, 64 (decode_probe run --tma set).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
mkdir -p $OUT/probe
timeout 420 python3 bench/decode_probe.py run .gpu/s6/tma --log $OUT/probe --ms 8,16,32,64 > $OUT/probe/log.txt 2>&1
echo "probe rc=$?"
grep -E "CRASH|failing|wrong" $OUT/probe/log.txt | head -20
tail -45 $OUT/probe/log.txt
date -u
