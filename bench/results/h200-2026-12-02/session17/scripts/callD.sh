#!/usr/bin/env bash
# session 17 call D: the persistent CUDA-core kernels (x staged in shared memory once per CTA, `ctas`) at max_m 4
# and 2, every one checked at every M up to max_m, and timed at M = 2-4 against the kernels builds time there
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 CXX=/usr/bin/g++ AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader
mkdir -p $OUT/simtx
timeout 400 python3 bench/decode_probe.py run .gpu/simtx --ms 2,3,4 --all-buckets --log $OUT/simtx > $OUT/simtx/run.log 2>&1
echo "rc=$?"; grep -E "^check .*(wrong|crash)" $OUT/simtx/run.log | head; grep -E "checks took|M=" $OUT/simtx/run.log | tail -30
