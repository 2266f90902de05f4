#!/bin/bash
# session 16 call C: decode_tma's vectorised output stage. 1. every kernel of the --out-stage grid (new code)
# checked at every M and timed; 2. the same designs built before and after, interleaved (ab_probe);
# 3. e4m3 designs (scale epilogues) of three weights, new code, checked and timed
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv
timeout 200 python3 bench/decode_probe.py run .gpu/s16/new --ms 8,16,32,64,128,256 --log $OUT/new 2>&1 | tail -8
timeout 200 python3 bench/ab_probe.py .gpu/s16/old .gpu/s16/new --ms 8,16,32,64,128,256 --log $OUT/ab 2>&1 | tee $OUT/ab/ab_probe.txt | tail -75
timeout 120 python3 bench/fp8_decode_probe.py run .gpu/s16/fp8 --ms 1,8,16 --log $OUT/fp8 2>&1 | tail -25
