#!/usr/bin/env bash
# GPU call 1 (session 12): the max_m 128/256 TMA + wgmma sweep (decode_probe / fp8_decode_probe --mid-sweep),
# every kernel checked at every M 1..max_m against float32, then timed against cuBLAS / _scaled_mm at
# M = 65, 128, 129, 256 (the 128 and 256 buckets and their lower edges).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
mkdir -p $OUT/bf16 $OUT/fp8
timeout 280 python3 bench/decode_probe.py run .gpu/s12/c1/mid_bf16 --log $OUT/bf16 --ms 65,128,129,256 > $OUT/bf16/run.log 2>&1
echo "bf16 rc=$?"; tail -n 45 $OUT/bf16/run.log
date -u
timeout 250 python3 bench/fp8_decode_probe.py run .gpu/s12/c1/mid_fp8 --log $OUT/fp8 --ms 65,128 --scales tensor > $OUT/fp8/run.log 2>&1
echo "fp8 rc=$?"; tail -n 32 $OUT/fp8/run.log
date -u
