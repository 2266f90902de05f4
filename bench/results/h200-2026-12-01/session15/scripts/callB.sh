#!/usr/bin/env bash
# GPU call B (session 15): x multicast (decode_tma "cn") at max_m 64/128/256 on the 12 MID_SHAPES: every kernel
# checked at every M 1..max_m against float32 (NaN-poisoned outputs), then timed against cuBLAS at 64..256.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
mkdir -p $OUT/bf16
timeout 400 python3 bench/decode_probe.py run .gpu/s15/mc/bf16 --log $OUT/bf16 --ms 33,64,65,96,128,129,192,256 > $OUT/bf16/run.log 2>&1
echo "bf16 rc=$?"; grep -E "checks took|CRASH|wrong|M=" $OUT/bf16/run.log | cut -c1-150 | tail -n 110
date -u
