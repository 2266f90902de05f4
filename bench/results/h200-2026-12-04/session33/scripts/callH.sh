#!/usr/bin/env bash
# session 33 call H: the AOTInductor and torchao paths with call E's tuned per-tensor Llama-3.1-8B fp8 bundle, whose
# qkv from M = 960 is quack's e4m3 GEMM: tests/gpu/test_fp8_aoti_gpu.py (now also at M = 1024) and
# tests/gpu/test_torchao_gpu.py. Carried: .gpu/whl, .gpu/s33/t (call E's tuned bundles).
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/h33; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/h.tgz -C $R .; }
AOTGEMM_TEST_FP8_BUNDLE=.gpu/s33/t/llama-3.1-8b-fp8.agb timeout 400 python3 -m pytest -q -s -p no:cacheprovider -rs \
  tests/gpu/test_fp8_aoti_gpu.py tests/gpu/test_torchao_gpu.py > $R/fp8_paths.log 2>&1
echo "fp8 paths rc=$? $(date -u +%T)"; grep -E "M=1024|M=300|passed|failed|Error" $R/fp8_paths.log | tail -12 | cut -c1-200
pack; date -u
