#!/usr/bin/env bash
# session 17 call A: CUDA-core kernels at max_m 2 and 4, and the L2 bulk prefetch (pf), against the kernels a
# build times at M = 1-4 today and cuBLAS, on the 13 weights of the shipped bf16 manifests
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 CXX=/usr/bin/g++ AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader
mkdir -p $OUT/simtm
timeout 540 python3 bench/decode_probe.py run .gpu/simtm --ms 1,2,4 --all-buckets --log $OUT/simtm > $OUT/simtm/run.log 2>&1
echo "rc=$?"; grep -E "^check .*(wrong|crash)" $OUT/simtm/run.log | head; grep -E "checks took|M=" $OUT/simtm/run.log | tail -45
