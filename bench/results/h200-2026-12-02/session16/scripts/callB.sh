#!/bin/bash
# session 16 call B: the --pull grid (push vs pull reduction on designs_for's TMA designs of 12 weights; pull
# designs at max_m 128/256 within the GPU's cluster capacity): every kernel checked at every M, then timed
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv
timeout 520 python3 bench/decode_probe.py run .gpu/s16/pull --ms 8,16,32,64,128,256 --log $OUT/pull 2>&1 | tail -80
