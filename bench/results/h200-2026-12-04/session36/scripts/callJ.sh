#!/usr/bin/env bash
# session 36 call J: tests/gpu with the final code's bundles, tuned here: Qwen2.5-32B TP4's bf16 one (call H's build:
# the new CUDA-core and lm_head designs) and its per-tensor fp8 one (call I's: the 8-byte and the new e4m3 CUDA-core
# designs). Every kernel of each run directly at every M it serves against float32 and through the runtime,
# torch.compile and CUDA graphs (test_runtime_gpu), and the fp8 one through AOTInductor (test_fp8_aoti_gpu).
# Carried: .gpu/whl, .gpu/s36/final.
set -uo pipefail
source bench/gpu_call_env.sh
R=/tmp/j36; rm -rf $R; mkdir -p $R/tune
pack() { tar czf $OUT/j.tgz -C $R .; }
for n in qwen2.5-32b-tp4 qwen2.5-32b-tp4-fp8; do
  timeout 150 python3 -m aotgemm.cli tune .gpu/s36/final/$n.agb -o $R/tune/$n.agb > $R/tune/$n.tune.log 2>&1
  echo "tune $n rc=$? $(date -u +%T)"
done
pack
t() {  # t NAME TIMEOUT ENV... -- TESTS...
  local name=$1 to=$2; shift 2; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  env "${envs[@]}" timeout $to python3 -m pytest -q -s -p no:cacheprovider -rs --durations 4 "$@" > $R/$name.log 2>&1
  echo "$name rc=$? $(date -u +%T)"; grep -E "kernel runs|replays|passed|failed|FAIL|Error" $R/$name.log | tail -5 | cut -c1-200
  pack
}
t bf16 200 AOTGEMM_TEST_BUNDLE=$R/tune/qwen2.5-32b-tp4.agb -- tests/gpu/test_runtime_gpu.py
t fp8_tensor 200 AOTGEMM_TEST_BUNDLE=$R/tune/qwen2.5-32b-tp4-fp8.agb AOTGEMM_TEST_FP8_BUNDLE=$R/tune/qwen2.5-32b-tp4-fp8.agb -- \
  tests/gpu/test_runtime_gpu.py tests/gpu/test_fp8_aoti_gpu.py
date -u
