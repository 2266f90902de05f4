#!/usr/bin/env bash
# GPU call 2 (session 12): x loaded in power-of-two row boxes (decode_tma.x_boxes). designs_for's TMA designs
# (max_m 16/32/64) and the max_m 128/256 grid, bf16 and e4m3, on the 12 shapes of decode_probe.MID_SHAPES:
# every kernel checked at every M 1..max_m against float32 (NaN-poisoned outputs), then timed against
# cuBLAS / _scaled_mm at each bucket's M and its lower edge.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
mkdir -p $OUT/bf16 $OUT/fp8
timeout 330 python3 bench/decode_probe.py run .gpu/s12/c2/e_bf16 --log $OUT/bf16 --ms 9,16,17,32,33,64,65,128,129,256 > $OUT/bf16/run.log 2>&1
echo "bf16 rc=$?"; grep -E "^ +[0-9]+x[0-9]+ |kernels checked|CRASH|wrong" $OUT/bf16/run.log | cut -c1-118 | tail -n 125
date -u
timeout 230 python3 bench/fp8_decode_probe.py run .gpu/s12/c2/e_fp8 --log $OUT/fp8 --ms 9,16,17,32,33,64,65,128 --scales tensor > $OUT/fp8/run.log 2>&1
echo "fp8 rc=$?"; grep -E "^ +[0-9]+x[0-9]+ |kernels checked|geomean|CRASH" $OUT/fp8/run.log | cut -c1-112 | tail -n 100
date -u
