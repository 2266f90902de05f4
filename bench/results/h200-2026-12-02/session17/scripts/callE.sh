#!/usr/bin/env bash
# session 17 call E: e4m3 CUDA-core kernels at max_m 2 (both scale epilogues) against the kernels builds time at
# M = 1-2 and torch._scaled_mm, on the weights of the four fp8 manifests
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 CXX=/usr/bin/g++ AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader
mkdir -p $OUT/fp8m
timeout 300 python3 bench/fp8_decode_probe.py run .gpu/fp8m --ms 1,2 --all-buckets --log $OUT/fp8m > $OUT/fp8m/run.log 2>&1
echo "rc=$?"; grep -E "^check .*(wrong|crash)" $OUT/fp8m/run.log | head; grep -E "checks took|M=" $OUT/fp8m/run.log | tail -64
