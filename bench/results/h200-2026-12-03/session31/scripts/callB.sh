#!/usr/bin/env bash
# session 31 call B: tests/gpu with bundles built at HEAD (session 30's output stage: 8-byte stores, 4 columns a
# step, scale_tensor's factor read once), tuned in call A (carried as .gpu/s31/t) or here (the row-wise fp8 one):
# every kernel of each bundle run directly at every M it serves against float32 (test_runtime_gpu), through the
# runtime, torch.compile, CUDA graphs and AOTInductor (test_aoti_gpu, test_fp8_aoti_gpu), the fused epilogues the bundle
# has (residual_add, swiglu: test_epilogues_gpu; bias ran in call D), torchao's float8 linears per tensor and per row (test_torchao_gpu),
# every scale_tensor and scale_row design designs_for offers for 8192 x 1024 at every M (test_fp8_decode_gpu, kernels
# of `fp8_decode_probe.py compile .gpu/s31/f8 --shapes 8192:1024`), and the stock fp8 path (test_fp8_stock_gpu).
# Carried: .gpu/whl, .gpu/s31/t, .gpu/s31/b, .gpu/s31/f8.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/b31; rm -rf $R; mkdir -p $R/tune
T=.gpu/s31/t
pack() { tar czf $OUT/b.tgz -C $R .; }
t() {  # t NAME TIMEOUT ENV... -- TESTS...
  local name=$1 to=$2; shift 2; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  env "${envs[@]}" timeout $to python3 -m pytest -q -s -p no:cacheprovider -rs --durations 4 "$@" > $R/$name.log 2>&1
  echo "$name rc=$? $(date -u +%T)"; grep -E "kernel runs|replays|passed|failed|FAIL|Error" $R/$name.log | tail -5 | cut -c1-200
  pack
}
n=llama-3.1-8b-fp8-rowwise
timeout 60 python3 -m aotgemm.cli tune .gpu/s31/b/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
echo "tune $n rc=$? $(date -u +%T) $(tail -n 1 $R/tune/$n.tune.log | cut -c1-150)"; pack
t bf16 300 AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b.agb -- tests/gpu/test_runtime_gpu.py tests/gpu/test_aoti_gpu.py
t fused 150 AOTGEMM_TEST_FUSED_BUNDLE=$T/llama-3.1-8b-fused.agb -- tests/gpu/test_epilogues_gpu.py
t fp8_decode 120 AOTGEMM_FP8_DECODE_DIR=.gpu/s31/f8 -- tests/gpu/test_fp8_decode_gpu.py tests/gpu/test_fp8_stock_gpu.py
t fp8_tensor 200 AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b-fp8.agb AOTGEMM_TEST_FP8_BUNDLE=$T/llama-3.1-8b-fp8.agb -- \
  tests/gpu/test_runtime_gpu.py tests/gpu/test_torchao_gpu.py tests/gpu/test_fp8_aoti_gpu.py
t fp8_rowwise 200 AOTGEMM_TEST_BUNDLE=$R/tune/$n.agb AOTGEMM_TEST_FP8_BUNDLE=$R/tune/$n.agb -- \
  tests/gpu/test_runtime_gpu.py tests/gpu/test_torchao_gpu.py tests/gpu/test_fp8_aoti_gpu.py
date -u
