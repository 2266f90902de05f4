#!/usr/bin/env bash
# session 18 call B: an L2 evict-first policy on the weight loads of the CUDA-core (max_m 1, 2) and cp.async
# (max_m 8, 16) kernels (decode_probe --evict-first), each against the same design without it, with the TMA
# max_m 16 designs (evict-first since call A) and cuBLAS in the same runs, on the 13 weights of the bf16 manifests
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 CXX=/usr/bin/g++ AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader
mkdir -p $OUT/ef
timeout 500 python3 bench/decode_probe.py run .gpu/s18/ef --ms 1,2,4,8,16 --all-buckets --log $OUT/ef > $OUT/ef/run.log 2>&1
echo "rc=$?"; grep -E "^check .*(wrong|crash)" $OUT/ef/run.log | head; grep -E "checks took|M=" $OUT/ef/run.log | tail -70
