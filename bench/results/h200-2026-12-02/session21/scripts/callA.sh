#!/usr/bin/env bash
# session 21 call A: session 20's two fixes, first time on a GPU. The AOTInductor shim's loader now loads
# libtvm_ffi itself (aotgemm.tvm_ffi_lib; here tvm_ffi lives in a --target folder, not a venv) and `aotgemm
# bench` times the launch floor through timing.replay_us. The untuned fused Llama-3.1-8B bundle tuned, then all
# of tests/gpu (session 20 call A's tuned Llama-3.1-8B bf16 and fp8 bundles, the fused one, designs_for's e4m3
# kernels in .gpu/s20/fp8), then `aotgemm bench` of the tuned bf16 bundle once.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
nvidia-smi --query-gpu=name,driver_version,serial --format=csv,noheader; date -u
R=/tmp/a21; rm -rf $R; mkdir -p $R/tune $R/bench; A=.gpu/s20/A
timeout 120 python3 -m aotgemm.cli tune .gpu/s20/b/llama-3.1-8b-fused.agb -o $R/tune/llama-3.1-8b-fused.agb \
  > $R/tune/llama-3.1-8b-fused.tune.log 2>&1
echo "tune fused rc=$? $(tail -1 $R/tune/llama-3.1-8b-fused.tune.log) $(date -u +%T)"
AOTGEMM_FP8_DECODE_DIR=.gpu/s20/fp8 AOTGEMM_TEST_FP8_BUNDLE=$A/llama-3.1-8b-fp8.agb \
  AOTGEMM_TEST_FUSED_BUNDLE=$R/tune/llama-3.1-8b-fused.agb AOTGEMM_TEST_BUNDLE=$A/llama-3.1-8b.agb \
  timeout 300 python3 -m pytest -q -s -p no:cacheprovider -rs --durations 8 tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -12; date -u
timeout 75 python3 -m aotgemm.cli bench $A/llama-3.1-8b.agb -o $R/bench/run1 > $R/bench/llama-3.1-8b.run1.log 2>&1
echo "bench rc=$?"; tail -7 $R/bench/llama-3.1-8b.run1.log
rm -f $R/tune/*.agb; cp -r $R/* $OUT/; date -u
