#!/usr/bin/env bash
# session 35 call C: the Llama-3.1-70B TP8 bf16 bundle of scripts/build.sh (its lm_head with TMA decode designs now,
# a last CTA past N): tests/gpu/check_kernels.py on the untuned bundle (every kernel at every M it may serve, against
# float32, output poisoned), then tuned and `aotgemm bench` twice, then tests/gpu/test_runtime_gpu.py with the tuned
# bundle (every chosen kernel run directly at every M it serves, and through the runtime). Carried: .gpu/whl,
# .gpu/s35/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/c35; rm -rf $R; mkdir -p $R/tune $R/bench
pack() { tar czf $OUT/c.tgz -C $R .; }
n=llama-3.1-70b-tp8
timeout 200 python3 tests/gpu/check_kernels.py .gpu/s35/b/$n.agb > $R/$n.check_kernels.log 2>&1
echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "FAIL|wrong|checks" $R/$n.check_kernels.log | tail -3 | cut -c1-200
pack
tune_bench $n .gpu/s35/b $R 120 80
AOTGEMM_TEST_BUNDLE=$R/tune/$n.agb timeout 200 python3 -m pytest -q -s -p no:cacheprovider -rs \
  tests/gpu/test_runtime_gpu.py > $R/$n.test_runtime_gpu.log 2>&1
echo "test_runtime_gpu rc=$? $(date -u +%T)"; grep -E "kernel runs|passed|failed|Error" $R/$n.test_runtime_gpu.log | tail -4 | cut -c1-200
pack
date -u
