#!/usr/bin/env bash
# session 34 call G: tests/gpu with the bundles tuned in calls C and D (carried as .gpu/s34/t): every kernel of the
# tuned Llama-3.1-8B bf16 bundle run directly at every M it serves against float32 and through the runtime,
# torch.compile, CUDA graphs and AOTInductor (test_runtime_gpu, test_aoti_gpu), and the tuned per-tensor fp8 one
# through the runtime, AOTInductor and torchao's float8 linears (test_runtime_gpu, test_fp8_aoti_gpu,
# test_torchao_gpu). Carried: .gpu/whl, .gpu/s34/t.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/g34; rm -rf $R; mkdir -p $R
T=.gpu/s34/t
pack() { tar czf $OUT/g.tgz -C $R .; }
t() {  # t NAME TIMEOUT ENV... -- TESTS...
  local name=$1 to=$2; shift 2; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  env "${envs[@]}" timeout $to python3 -m pytest -q -s -p no:cacheprovider -rs --durations 4 "$@" > $R/$name.log 2>&1
  echo "$name rc=$? $(date -u +%T)"; grep -E "kernel runs|replays|passed|failed|FAIL|Error" $R/$name.log | tail -5 | cut -c1-200
  pack
}
t bf16 250 AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b.agb -- tests/gpu/test_runtime_gpu.py tests/gpu/test_aoti_gpu.py
t fp8_tensor 200 AOTGEMM_TEST_BUNDLE=$T/llama-3.1-8b-fp8.agb AOTGEMM_TEST_FP8_BUNDLE=$T/llama-3.1-8b-fp8.agb -- \
  tests/gpu/test_runtime_gpu.py tests/gpu/test_torchao_gpu.py tests/gpu/test_fp8_aoti_gpu.py
date -u
