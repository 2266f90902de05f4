#!/usr/bin/env bash
# Session 43 call A (carry .devwheels/a .gpu/w2 .gpu/qkv; tree at 6127c3a without bench/results): part a of the DSL
# toolchain copied to /opt/dw for call B, then the runtime's GPU tests at HEAD, after session 42's ops.torch_linear fix
# (runtime misses as one 2-D GEMM) and its eager matmul_folds: tests/gpu/test_runtime_gpu.py on session 42's tuned
# Llama-3.1-8B fused bundle, test_epilogues_gpu.py on its untuned build (every fused kernel at every M),
# test_fp8_stock_gpu.py, and the compiled decoder layer at M = 1, 16, 128, 2048 once.
mkdir -p /opt/dw && cp .devwheels/a/* /opt/dw/ && echo "part a staged: $(ls /opt/dw | wc -l) files"
WHEELS=.gpu/w2 source bench/gpu_call_env.sh
R=$OUT/verify; mkdir -p $R
AOTGEMM_TEST_BUNDLE=.gpu/qkv/fused.tuned.agb timeout 170 python3 -m pytest -q -s -p no:cacheprovider -rs \
  tests/gpu/test_runtime_gpu.py > $R/tests_runtime.log 2>&1
echo "runtime gpu tests rc=$?"; grep -E "kernel runs|replays|passed|failed" $R/tests_runtime.log | tail -4
AOTGEMM_TEST_FUSED_BUNDLE=.gpu/qkv/llama-3.1-8b-fused.agb timeout 150 python3 -m pytest -q -p no:cacheprovider -rs \
  tests/gpu/test_epilogues_gpu.py tests/gpu/test_fp8_stock_gpu.py > $R/tests_epilogues_stock.log 2>&1
echo "epilogue + fp8 stock tests rc=$?"; tail -n 3 $R/tests_epilogues_stock.log
