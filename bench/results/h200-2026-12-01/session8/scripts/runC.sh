#!/usr/bin/env bash
# GPU call C (session 8): tests/gpu with the bundles tuned this session (call A: Llama bf16 and fused; call B: Llama
# fp8), every kernel of the untuned fp8 bundle (decode kernels and quack's fp8 GEMMs) called directly against the dequantized float32
# reference, quack's fp8 GEMM with slow and fast accumulation against _scaled_mm (bench/quack_fp8_probe.py),
# then the Llama MLP (bench/mlp_fused.py) with the re-tuned fused bundle.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rt .gpu/whl/*.whl .gpu/whl-tf/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/rt:$PWD CXX=/usr/bin/g++ PYTHONUNBUFFERED=1 AOTGEMM_CACHE_DIR=/tmp/agc
R=/tmp/s8c; mkdir -p $R; T=.gpu/s8/a/tune; F=.gpu/s8/bres/tune
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u; git log --oneline | head -1
AOTGEMM_TEST_FP8_BUNDLE=$F/llama-3.1-8b-fp8.agb AOTGEMM_TEST_FUSED_BUNDLE=$T/llama-3.1-8b-fused-q.agb \
  AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b-q.agb timeout 300 python3 -m pytest -q -s -p no:cacheprovider -rs tests/gpu > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -15
tar czf $OUT/s8c.tgz -C $R .
AOTGEMM_TEST_BUNDLE=.gpu/s8/f8/llama-3.1-8b-fp8.agb timeout 150 python3 -m pytest -q -s -p no:cacheprovider -rs \
  tests/gpu/test_runtime_gpu.py > $R/tests_gpu_fp8_kernels.log 2>&1
echo "fp8 kernels rc=$?"; grep -E "kernel runs|passed|failed|FAIL|Error|SKIP" $R/tests_gpu_fp8_kernels.log | tail -8
tar czf $OUT/s8c.tgz -C $R .
timeout 150 python3 bench/quack_fp8_probe.py run .gpu/s8/qf8 --log $R/qprobe > $R/quack_fp8_probe.log 2>&1
echo "quack fp8 probe rc=$?"; tail -16 $R/quack_fp8_probe.log
tar czf $OUT/s8c.tgz -C $R .
timeout 90 python3 bench/mlp_fused.py $T/llama-3.1-8b-fused-q.agb -o $R/mlp_fused.json > $R/mlp_fused.txt 2>&1
echo "mlp rc=$?"; tail -8 $R/mlp_fused.txt
tar czf $OUT/s8c.tgz -C $R .
date -u
