#!/usr/bin/env bash
# session 33 call F: the quack e4m3 kernels for correctness, untuned bundles of scripts/build.sh (every kernel kept):
# tests/gpu/check_kernels.py (now with each kernel's own dtype and epilogue operands) on the Llama-3.1-70B TP8 and
# Llama-3.1-8B per-tensor fp8 bundles, and tests/gpu/test_runtime_gpu.py's direct-call and PDL-writer tests with
# each. Carried: .gpu/whl, .gpu/s33/b.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/f33; rm -rf $R; mkdir -p $R
pack() { tar czf $OUT/f.tgz -C $R .; }
for n in llama-3.1-70b-tp8-fp8 llama-3.1-8b-fp8; do
  timeout 150 python3 tests/gpu/check_kernels.py .gpu/s33/b/$n.agb > $R/$n.check_kernels.log 2>&1
  echo "check_kernels $n rc=$? $(date -u +%T)"; grep -E "quack|Quack|FAIL|wrong" $R/$n.check_kernels.log | head -5 | cut -c1-200
  AOTGEMM_TEST_BUNDLE=.gpu/s33/b/$n.agb timeout 200 python3 -m pytest -q -s -p no:cacheprovider -rs \
    -k "every_kernel_directly or pdl_writer" tests/gpu/test_runtime_gpu.py > $R/$n.runtime_gpu.log 2>&1
  echo "test_runtime_gpu $n rc=$? $(date -u +%T)"; grep -E "kernel runs|replays|passed|failed|Error" $R/$n.runtime_gpu.log | tail -4 | cut -c1-200
  pack
done
date -u
