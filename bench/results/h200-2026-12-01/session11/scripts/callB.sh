#!/usr/bin/env bash
# GPU call B (session 11): tests/gpu with the bundles call A tuned (bf16 Llama-3.1-8B, the fused one, per-tensor fp8),
# the fp8 AOTInductor and stock-path tests with the per-channel bundle, then the Llama MLP and the decoder layer
# (torch.compile, CUDA-graphed) with the re-tuned fused bundle.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/b; mkdir -p $R; T=.gpu/s11/a/tune
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
AOTGEMM_TEST_FP8_BUNDLE=$T/llama-3.1-8b-fp8.agb AOTGEMM_TEST_FUSED_BUNDLE=$T/llama-3.1-8b-fused-q.agb \
  AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b-q.agb timeout 330 python3 -m pytest -q -s -p no:cacheprovider -rs tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -12
tar czf $OUT/b.tgz -C $R .
AOTGEMM_TEST_FP8_BUNDLE=$T/llama-3.1-8b-fp8-row.agb AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b-fp8-row.agb timeout 100 \
  python3 -m pytest -q -s -p no:cacheprovider -rs tests/gpu/test_fp8_aoti_gpu.py tests/gpu/test_fp8_stock_gpu.py > $R/tests_fp8_row.log 2>&1
echo "fp8 row tests rc=$?"; grep -E "hits|passed|failed|FAIL|Error" $R/tests_fp8_row.log | tail -8
tar czf $OUT/b.tgz -C $R .
timeout 70 python3 bench/mlp_fused.py $T/llama-3.1-8b-fused-q.agb --pdl-writer -o $R/mlp_fused.json > $R/mlp_fused.txt 2>&1
echo "mlp_fused rc=$?"; tail -n 6 $R/mlp_fused.txt
tar czf $OUT/b.tgz -C $R .
date -u
