#!/usr/bin/env bash
# session 19 call D: the register-fed mma.sync kernel (swapab_rf, chunk i+1's loads issued before chunk i's MMAs)
# against designs_for's cp.async and TMA kernels of max_m 8 and 16 and cuBLAS, on 9 bf16 weights at M = 4, 8, 9,
# 16 (`decode_probe.py compile .gpu/s19/rf --rf` on the CPU: 171 kernels). Every kernel checked at every M up to
# its max_m first. WHL=.gpu/whl_tvm (tvm-ffi only: the probe needs no zstandard) keeps the carried tree under 64 MiB.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt ${WHL:-.gpu/whl}/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
timeout 500 python3 bench/decode_probe.py run .gpu/s19/rf --ms 4,8,9,16 --log $OUT/rf > $OUT/rf.log 2>&1
echo "probe rc=$?"; tail -5 $OUT/rf.log; date -u
