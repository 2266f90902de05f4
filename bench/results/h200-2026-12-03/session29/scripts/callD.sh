#!/usr/bin/env bash
# session 29 call D: tests/gpu/test_runtime_gpu.py and test_aoti_gpu.py with call C's tuned Llama-3.1-8B bf16 bundle
# (carried as .gpu/s29/t): every kernel of it, the max_m 128 one included, run directly at every M it serves
# against float32, and through the runtime (eager, torch.compile, CUDA graphs, AOTInductor).
set -uo pipefail
. bench/gpu_call_env.sh
R=/tmp/d29; rm -rf $R; mkdir -p $R
AOTGEMM_TEST_BUNDLE=.gpu/s29/t/llama-3.1-8b.agb timeout 400 python3 -m pytest -q -s -p no:cacheprovider -rs \
  --durations 6 tests/gpu/test_runtime_gpu.py tests/gpu/test_aoti_gpu.py > $R/tests_gpu.log 2>&1
echo "tests/gpu rc=$? $(date -u +%T)"; grep -E "kernel runs|passed|failed|FAIL|Error" $R/tests_gpu.log | tail -8
tar czf $OUT/d.tgz -C $R .; date -u
