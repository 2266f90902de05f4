#!/usr/bin/env bash
# session 16 call G: the final output stage (4 columns per load where a CTA owns >= 64 columns, else 1). Every
# kernel of the --out-stage grid checked at every M and timed; interleaved against the kernels as before the
# session (ab_probe); the e4m3 grid checked; every kernel of untuned Llama-3.1-8B and fused bundles run directly
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/rt:$PWD PYTHONUNBUFFERED=1 CXX=/usr/bin/g++ AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader
mkdir -p $OUT/final $OUT/ab $OUT/fp8
timeout 150 python3 bench/decode_probe.py run .gpu/s16/final --ms 8,16,32,64,128 --log $OUT/final 2>&1 | tail -3
timeout 150 python3 bench/ab_probe.py .gpu/s16/old .gpu/s16/final --ms 8,16,32,64,128 --log $OUT/ab > $OUT/ab/ab_probe.txt 2>&1; tail -1 $OUT/ab/ab_probe.txt
timeout 90 python3 bench/fp8_decode_probe.py run .gpu/s16/g/fp8 --ms 8,16 --log $OUT/fp8 2>&1 | tail -4
for n in llama-3.1-8b llama-3.1-8b-fused; do
  AOTGEMM_TEST_BUNDLE=.gpu/s16/g/$n.agb timeout 100 python3 -m pytest -q -s -p no:cacheprovider -rs \
    tests/gpu/test_runtime_gpu.py -k every_kernel_directly > $OUT/tests_direct_$n.log 2>&1
  echo "direct $n rc=$?"; grep -E "kernel runs|passed|failed" $OUT/tests_direct_$n.log | tail -3
done
