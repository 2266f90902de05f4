#!/usr/bin/env bash
# GPU call D (session 8): test_runtime_gpu.py on the untuned fp8 bundle again (the block and rt.linear tests now skip
# on a bundle with no bf16/fp16 layers), fp8_accum_probe over the four fp8 bundles tuned in call B, then the
# Llama-3.1-8B decoder layer with the fused bundle re-tuned in call A (bench/epilogue_block.py).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s8d; mkdir -p $R; T=.gpu/s8/a/tune; F=.gpu/s8/bres/tune
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
AOTGEMM_TEST_BUNDLE=.gpu/s8/f8/llama-3.1-8b-fp8.agb timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs \
  tests/gpu/test_runtime_gpu.py > $R/tests_gpu_fp8_kernels.log 2>&1
echo "fp8 kernels rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error|SKIP" $R/tests_gpu_fp8_kernels.log | tail -8
tar czf $OUT/s8d.tgz -C $R .
timeout 240 python3 bench/fp8_accum_probe.py $F/llama-3.1-8b-fp8.agb $F/qwen2.5-32b-tp4-fp8.agb \
  $F/llama-3.1-70b-tp8-fp8.agb $F/qwen3-4b-tp1-fp8.agb --log $R/accum > $R/fp8_accum_probe.log 2>&1
echo "accum probe rc=$?"; tail -12 $R/fp8_accum_probe.log
tar czf $OUT/s8d.tgz -C $R .
timeout 240 python3 bench/epilogue_block.py $T/llama-3.1-8b-fused-q.agb --trials 25 --out $R/epilogue_block.json > $R/epilogue_block.txt 2>&1
echo "layer rc=$?"; grep -E "routed|patched:" $R/epilogue_block.txt; tail -9 $R/epilogue_block.txt
tar czf $OUT/s8d.tgz -C $R .
date -u
