#!/usr/bin/env bash
# session 18 call A: (1) CUDA-core kernels with their first chunk of weight loads before griddepcontrol.wait
# ("early", decode_probe --simt-early) against the same designs as built, at M = 1, 2; (2) TMA kernels with an
# L2 evict-first hint on the weight loads ("ef") and with 256/512-byte k tiles (decode_probe --tma-stream),
# against designs_for's TMA designs, at M = 4-64; cuBLAS in the same runs
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 CXX=/usr/bin/g++ AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader
mkdir -p $OUT/early $OUT/stream
timeout 200 python3 bench/decode_probe.py run .gpu/s18/early --ms 1,2 --log $OUT/early > $OUT/early/run.log 2>&1
echo "rc=$?"; grep -E "^check .*(wrong|crash)" $OUT/early/run.log | head; grep -E "checks took" $OUT/early/run.log
timeout 330 python3 bench/decode_probe.py run .gpu/s18/stream --ms 4,8,16,32,64 --all-buckets --log $OUT/stream > $OUT/stream/run.log 2>&1
echo "rc=$?"; grep -E "^check .*(wrong|crash)" $OUT/stream/run.log | head; grep -E "checks took|M=" $OUT/stream/run.log | tail -32
