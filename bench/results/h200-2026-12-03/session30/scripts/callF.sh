#!/usr/bin/env bash
# session 30 call F: tests/gpu/test_runtime_gpu.py with call E's tuned Llama-3.1-70B TP8 per-tensor fp8 bundle
# (carried as .gpu/s30/tuned): every kernel of it, the e4m3 max_m 128 one included, run directly at every M it
# serves against float32 on the dequantized operands, and through the runtime. Carried: .gpu/whl, .gpu/s30/tuned.
set -uo pipefail
. bench/gpu_call_env.sh
R=/tmp/f30; rm -rf $R; mkdir -p $R
AOTGEMM_TEST_BUNDLE=.gpu/s30/tuned/llama-3.1-70b-tp8-fp8.agb timeout 300 python3 -m pytest -q -s -p no:cacheprovider \
  -rs --durations 6 tests/gpu/test_runtime_gpu.py > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$? $(date -u +%T)"; grep -E "kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -8
tar czf $OUT/f.tgz -C $R .; date -u
