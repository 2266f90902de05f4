#!/usr/bin/env bash
# session 19 call C: all of tests/gpu with the tuned per-tensor fp8 Llama-3.1-8B bundle of call A (its M = 2
# buckets served by e4m3 CUDA-core max_m 2 kernels), session 18's tuned bf16 and fused ones (same kernels as this
# commit's: the change is fp8-only), and the fp8 decode kernels of designs_for for 4096x4096 and 28672x4096
# cross-compiled here (.gpu/s19/fp8, `fp8_decode_probe.py compile`, 60 kernels, 8 of them max_m 2)
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
C=.gpu/s19/C
AOTGEMM_FP8_DECODE_DIR=.gpu/s19/fp8 AOTGEMM_TEST_FP8_BUNDLE=$C/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$C/llama-3.1-8b-fused.agb AOTGEMM_TEST_BUNDLE=$C/llama-3.1-8b.agb \
  timeout 300 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $OUT/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL" $OUT/tests_gpu.log | tail -8; date -u
